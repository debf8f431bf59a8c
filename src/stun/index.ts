export * from "./constants.js";
export { formatIp, parseIp, type IpFamily, type TransportAddress } from "./address.js";
export { StunDecodeError, type StunDecodeReason, type StunDecodeRequest } from "./decode-error.js";
export {
  decodeMessage,
  encodeMessage,
  isStunHeaderByte,
  MAX_UNKNOWN_LISTED,
  type EncodeOptions,
  type OutgoingMessage,
  type StunAttributeView,
  type StunMessage,
} from "./message.js";
export {
  attributeName,
  getAttribute,
  getAttributes,
  hasAttribute,
  type AttributeEntry,
  type AttributeName,
  type AttributeValues,
} from "./attributes/registry.js";
export { deriveLongTermKey, verifyMessageIntegrity, verifyMessageIntegritySha256, type IntegrityKey } from "./integrity.js";
export { computeFingerprint } from "./fingerprint.js";
export { writeRandomTransactionId } from "./transaction-id.js";
