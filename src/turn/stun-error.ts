import type { AttributeEntry } from "../stun/attributes/registry.js";
import type { ErrorCode } from "../stun/constants.js";

/** Thrown by handlers; `dispatch` is the one place that turns it into an error response. */
export class StunError extends Error {
  readonly code: ErrorCode;
  readonly attributes: readonly AttributeEntry[];
  /** Reason phrase sent in ERROR-CODE instead of the RFC's, when the client should learn why. */
  readonly phrase: string | undefined;

  constructor(code: ErrorCode, reason?: string, attributes: readonly AttributeEntry[] = [], phrase?: string) {
    // A protocol answer, not a fault: every 401 challenge makes one, so no stack trace is captured.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(reason ?? `STUN error ${code}`);
    Error.stackTraceLimit = limit;
    this.name = "StunError";
    this.code = code;
    this.attributes = attributes;
    this.phrase = phrase;
  }
}
