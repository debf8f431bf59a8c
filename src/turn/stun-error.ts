import type { AttributeEntry } from "../stun/attributes/registry.js";
import type { ErrorCode } from "../stun/constants.js";

/** Thrown by handlers; `dispatch` is the one place that turns it into an error response. */
export class StunError extends Error {
  readonly code: ErrorCode;
  readonly attributes: readonly AttributeEntry[];

  constructor(code: ErrorCode, reason?: string, attributes: readonly AttributeEntry[] = []) {
    super(reason ?? `STUN error ${code}`);
    this.name = "StunError";
    this.code = code;
    this.attributes = attributes;
  }
}
