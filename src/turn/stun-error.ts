import type { AttributeEntry } from "../stun/attributes/registry.js";
import { ErrorCode } from "../stun/constants.js";
import { keepShape } from "./shape-keeper.js";

/** Thrown or returned by handlers; `dispatch` is the one place that turns it into an error response. */
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

/** 401 to a request that was signed, but not with a credential we accept: what an operator looks for when a client cannot log in. */
export class CredentialRejected extends StunError {
  /** As the client sent it (USERNAME), or undefined for USERHASH; never a password or key. */
  readonly username: string | undefined;

  constructor(reason: string, attributes: readonly AttributeEntry[], username: string | undefined) {
    super(ErrorCode.Unauthenticated, reason, attributes);
    this.name = "CredentialRejected";
    this.username = username;
  }
}

// Every 401 challenge makes a StunError and none outlives its request (see shape-keeper.ts).
keepShape("StunError", new StunError(ErrorCode.BadRequest));
keepShape("CredentialRejected", new CredentialRejected("", [], undefined));
