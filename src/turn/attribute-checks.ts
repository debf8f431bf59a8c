import { getAttribute, hasAttribute } from "../stun/attributes/registry.js";
import { ErrorCode } from "../stun/constants.js";
import { StunDecodeError } from "../stun/decode-error.js";
import type { StunMessage } from "../stun/message.js";
import { StunError } from "./stun-error.js";

/**
 * RFC 8489 §6.3: what a request's attributes are checked for once authentication is done (the TURN
 * methods call this after it, so a client is challenged first and the answer is signed). An unknown
 * comprehension-required attribute is a 420 listing them (§6.3.1); a SOFTWARE of 128 characters or
 * more makes the request malformed, 400 (§14.14). Undefined when neither.
 */
export function attributeError(message: StunMessage): StunError | undefined {
  if (hasAttribute(message, "SOFTWARE")) {
    try {
      getAttribute(message, "SOFTWARE");
    } catch (error) {
      if (!(error instanceof StunDecodeError)) throw error;
      return new StunError(ErrorCode.BadRequest, error.message);
    }
  }
  if (message.unknownComprehensionRequired.length === 0) return undefined;
  return new StunError(ErrorCode.UnknownAttribute, undefined, [{ name: "UNKNOWN-ATTRIBUTES", value: [...message.unknownComprehensionRequired] }]);
}
