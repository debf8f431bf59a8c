/** Why a message was refused; stable strings for logs and metrics. */
export type StunDecodeReason =
  | "short-header"
  | "not-stun"
  | "bad-cookie"
  | "unaligned-length"
  | "length-mismatch"
  | "attribute-overrun"
  | "bad-fingerprint"
  | "fingerprint-not-last"
  | "bad-attribute-value";

/** The header of a request that deserves a 400 Bad Request answer. */
export interface StunDecodeRequest {
  readonly method: number;
  readonly transactionId: Buffer;
}

export class StunDecodeError extends Error {
  override readonly name = "StunDecodeError";
  readonly reason: StunDecodeReason;
  /** Set only when the header was valid and the message is a Request: answer 400. Absent: drop silently. */
  readonly request?: StunDecodeRequest;

  constructor(reason: StunDecodeReason, message: string, request?: StunDecodeRequest) {
    super(message);
    this.reason = reason;
    if (request !== undefined) this.request = request;
  }
}
