import { createHash, timingSafeEqual } from "node:crypto";
import { AttributeType, HEADER_LENGTH } from "./constants.js";
import { hmac, type HmacKey } from "./hmac.js";
import type { StunMessage } from "./message.js";

export type IntegrityAlgorithm = "sha1" | "sha256";

/** Key bytes, or a KeyObject made once with createSecretKey (its HMAC key blocks are then prepared once). */
export type IntegrityKey = HmacKey;

/** The header's length field as MESSAGE-INTEGRITY sees it; hmac() copies it before returning, so one buffer serves all. */
const adjustedLength = Buffer.alloc(2);

export function integrityLength(algorithm: IntegrityAlgorithm): number {
  return algorithm === "sha1" ? 20 : 32;
}

/**
 * HMAC over bytes[0, attributeStart) with the header length field replaced by `attributeEnd - 20`
 * (RFC 8489 §14.5, §14.6): the length "points to the end of" the integrity attribute, whatever follows.
 * Reads the received bytes, never writes them.
 */
export function computeMessageIntegrity(
  algorithm: IntegrityAlgorithm,
  key: IntegrityKey,
  bytes: Uint8Array,
  attributeStart: number,
  attributeEnd: number,
): Buffer {
  adjustedLength.writeUInt16BE(attributeEnd - HEADER_LENGTH, 0);
  return hmac(algorithm, key, [bytes.subarray(0, 2), adjustedLength, bytes.subarray(4, attributeStart)]);
}

/** RFC 8489 §14.5: HMAC-SHA1 with the key of §9.1.1 / §9.2.2; false when absent or malformed. */
export function verifyMessageIntegrity(msg: StunMessage, key: IntegrityKey): boolean {
  return verify(msg, key, "sha1", AttributeType.MESSAGE_INTEGRITY, (length) => length === 20);
}

/** RFC 8489 §14.6: HMAC-SHA256, possibly truncated to 16..32 bytes (a multiple of 4); false when absent. */
export function verifyMessageIntegritySha256(msg: StunMessage, key: IntegrityKey): boolean {
  return verify(
    msg,
    key,
    "sha256",
    AttributeType.MESSAGE_INTEGRITY_SHA256,
    (length) => length >= 16 && length <= 32 && length % 4 === 0,
  );
}

function verify(
  msg: StunMessage,
  key: IntegrityKey,
  algorithm: IntegrityAlgorithm,
  type: number,
  isValidLength: (length: number) => boolean,
): boolean {
  const view = msg.attributes.find((attribute) => attribute.type === type);
  if (view === undefined || !isValidLength(view.length)) return false;
  const expected = computeMessageIntegrity(algorithm, key, msg.raw, view.offset - 4, view.offset + view.length);
  return timingSafeEqual(expected.subarray(0, view.length), msg.raw.subarray(view.offset, view.offset + view.length));
}

/**
 * RFC 8489 §9.2.2: key = H(username ":" realm ":" password), H = MD5 or SHA-256 (PASSWORD-ALGORITHM).
 * The RFC applies OpaqueString (RFC 8265) to realm and password first; that is not done here, so
 * callers pass text already in its prepared form (printable ASCII is unchanged by it).
 */
export function deriveLongTermKey(
  username: string,
  realm: string,
  password: string,
  algorithm: "MD5" | "SHA-256",
): Buffer {
  return createHash(algorithm === "MD5" ? "md5" : "sha256")
    .update(`${username}:${realm}:${password}`, "utf8")
    .digest();
}
