import type { AttributeEntry } from "../stun/attributes/registry.js";
import type { ErrorCode } from "../stun/constants.js";

/** Thrown by handlers; `dispatch` is the one place that turns it into an error response. */
export class StunError extends Error {
  readonly code: ErrorCode;
  readonly attributes: readonly AttributeEntry[];
  /** Reason phrase sent in ERROR-CODE instead of the RFC's, when the client should learn why. */
  readonly phrase: string | undefined;

  constructor(code: ErrorCode, reason?: string, attributes: readonly AttributeEntry[] = [], phrase?: string) {
    super(reason ?? `STUN error ${code}`);
    this.name = "StunError";
    this.code = code;
    this.attributes = attributes;
    this.phrase = phrase;
  }
}
