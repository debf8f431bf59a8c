import { createHash } from "node:crypto";
import { AttributeType, HEADER_LENGTH } from "./constants.js";
import { hmacLength, hmacMessageInto, type HmacKey } from "./hmac.js";
import { findView } from "./find-view.js";
import type { StunMessage } from "./message.js";

export type IntegrityAlgorithm = "sha1" | "sha256";

/** Key bytes, or a KeyObject made once with createSecretKey (its HMAC key blocks are then prepared once). */
export type IntegrityKey = HmacKey;

/** The MAC a received message should carry, for the comparison; each call is synchronous. */
const expected = Buffer.alloc(32);

export function integrityLength(algorithm: IntegrityAlgorithm): number {
  return hmacLength(algorithm);
}

/**
 * HMAC over bytes[0, attributeStart) with the header length field replaced by `attributeEnd - 20`
 * (RFC 8489 §14.5, §14.6): the length "points to the end of" the integrity attribute, whatever follows.
 * Reads `bytes` and writes only `target`, from `offset`.
 */
export function writeMessageIntegrity(
  algorithm: IntegrityAlgorithm,
  key: IntegrityKey,
  bytes: Buffer,
  attributeStart: number,
  attributeEnd: number,
  target: Buffer,
  offset: number,
): void {
  hmacMessageInto(algorithm, key, bytes, attributeStart, attributeEnd - HEADER_LENGTH, target, offset);
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
  const view = findView(msg.attributes, type);
  if (view === undefined || !isValidLength(view.length)) return false;
  writeMessageIntegrity(algorithm, key, msg.raw, view.offset - 4, view.offset + view.length, expected, 0);
  return constantTimeEqual(expected, msg.raw, view.offset, view.length);
}

/** expected[0, length) against bytes[offset, offset + length), in time that depends on the length only. */
function constantTimeEqual(expected: Buffer, bytes: Buffer, offset: number, length: number): boolean {
  let difference = 0;
  for (let i = 0; i < length; i++) difference |= expected[i]! ^ bytes[offset + i]!;
  return difference === 0;
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
