import {
  AttributeType,
  HEADER_LENGTH,
  isComprehensionRequired,
  MAGIC_COOKIE,
  MessageClass,
  TRANSACTION_ID_LENGTH,
} from "./constants.js";
import type { AttributeEntry } from "./attributes/registry.js";
import { attributeName } from "./attributes/registry.js";
import { StunDecodeError, type StunDecodeRequest } from "./decode-error.js";
import { computeFingerprint } from "./fingerprint.js";
import { isStunHeaderByte, messageClassOf, methodOf } from "./header.js";
import { padTo4 } from "./padding.js";
import type { IntegrityKey } from "./integrity.js";

export { encodeMessage } from "./encode-message.js";
export { isStunHeaderByte } from "./header.js";

/** Where one attribute sits in `raw`: `offset` is the start of its value, `length` excludes padding. */
export interface StunAttributeView {
  readonly type: number;
  readonly offset: number;
  readonly length: number;
}

export interface StunMessage {
  readonly method: number;
  readonly messageClass: MessageClass;
  /** 12-byte view into `raw`. */
  readonly transactionId: Buffer;
  /** The whole message as received (a view, never copied). */
  readonly raw: Buffer;
  /** Known attributes that count, in wire order (those after the integrity attributes are ignored). */
  readonly attributes: readonly StunAttributeView[];
  /** Unknown comprehension-required types, each once, for 420 UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1). */
  readonly unknownComprehensionRequired: readonly number[];
  /** A FINGERPRINT was present; decodeMessage has already verified it. */
  readonly hasFingerprint: boolean;
}

export interface OutgoingMessage {
  readonly method: number;
  readonly messageClass: MessageClass;
  readonly transactionId: Uint8Array;
  readonly attributes: readonly AttributeEntry[];
}

export interface EncodeOptions {
  /** Appends MESSAGE-INTEGRITY (sha1, 20 bytes) or MESSAGE-INTEGRITY-SHA256 (32 bytes). */
  readonly integrity?: { readonly key: IntegrityKey; readonly algorithm: "sha1" | "sha256" };
  /** Appends FINGERPRINT, last. */
  readonly fingerprint?: boolean;
}

/**
 * Checks the header (RFC 8489 §6.3) and walks the attributes without copying or decoding values.
 * Throws only StunDecodeError; `request` is set on it when the answer should be 400.
 */
export function decodeMessage(bytes: Buffer): StunMessage {
  if (bytes.length < HEADER_LENGTH) throw new StunDecodeError("short-header", `${bytes.length} bytes`);
  if (!isStunHeaderByte(bytes[0] ?? 0)) throw new StunDecodeError("not-stun", "top two bits are not 00");
  if (bytes.readUInt32BE(4) !== MAGIC_COOKIE) throw new StunDecodeError("bad-cookie", "wrong magic cookie");
  const length = bytes.readUInt16BE(2);
  if (length % 4 !== 0) throw new StunDecodeError("unaligned-length", `length ${length} is not a multiple of 4`);
  if (length !== bytes.length - HEADER_LENGTH) {
    throw new StunDecodeError("length-mismatch", `length ${length}, ${bytes.length - HEADER_LENGTH} bytes follow`);
  }

  const messageType = bytes.readUInt16BE(0);
  const method = methodOf(messageType);
  const messageClass = messageClassOf(messageType);
  const transactionId = bytes.subarray(8, 8 + TRANSACTION_ID_LENGTH);

  const attributes: StunAttributeView[] = [];
  let unknownComprehensionRequired: number[] | undefined;
  let hasFingerprint = false;
  // RFC 8489 §9: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count;
  // after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
  let seenIntegrity = false;
  let seenIntegritySha256 = false;

  for (let position = HEADER_LENGTH; position < bytes.length; ) {
    if (bytes.length - position < 4) {
      throw new StunDecodeError("attribute-overrun", "truncated attribute header", requestOf(messageClass, method, transactionId));
    }
    const type = bytes.readUInt16BE(position);
    const valueLength = bytes.readUInt16BE(position + 2);
    const offset = position + 4;
    const next = offset + padTo4(valueLength);
    if (next > bytes.length) {
      throw new StunDecodeError("attribute-overrun", `attribute 0x${type.toString(16)} runs past the end`, requestOf(messageClass, method, transactionId));
    }

    if (type === AttributeType.FINGERPRINT) {
      // RFC 8489 §14.7: FINGERPRINT is last, and a wrong CRC means the message is not STUN.
      if (next !== bytes.length) throw new StunDecodeError("fingerprint-not-last", "attributes follow FINGERPRINT");
      if (valueLength !== 4 || bytes.readUInt32BE(offset) !== computeFingerprint(bytes.subarray(0, position))) {
        throw new StunDecodeError("bad-fingerprint", "FINGERPRINT does not match");
      }
      hasFingerprint = true;
      attributes.push({ type, offset, length: valueLength });
    } else if (seenIntegritySha256 || (seenIntegrity && type !== AttributeType.MESSAGE_INTEGRITY_SHA256)) {
      // Ignored: neither an attribute nor unknown.
    } else if (attributeName(type) !== undefined) {
      attributes.push({ type, offset, length: valueLength });
      if (type === AttributeType.MESSAGE_INTEGRITY) seenIntegrity = true;
      if (type === AttributeType.MESSAGE_INTEGRITY_SHA256) seenIntegritySha256 = true;
    } else if (isComprehensionRequired(type) && (unknownComprehensionRequired?.length ?? 0) < MAX_UNKNOWN_LISTED && !unknownComprehensionRequired?.includes(type)) {
      (unknownComprehensionRequired ??= []).push(type);
    }
    position = next;
  }

  return {
    method,
    messageClass,
    transactionId,
    raw: bytes,
    attributes,
    unknownComprehensionRequired: unknownComprehensionRequired ?? NONE_UNKNOWN,
    hasFingerprint,
  };
}

const NONE_UNKNOWN: readonly number[] = Object.freeze([]);
/**
 * The unknown comprehension-required types a message's 420 lists, at most: one datagram can carry
 * 16,000 distinct ones, and checking each new one against all those before it took 100 ms of the
 * thread, before any authentication, for an answer of 32 KB.
 */
export const MAX_UNKNOWN_LISTED = 32;

/** What a 400 answers, for a Request; built only when a decode error is thrown. */
function requestOf(messageClass: MessageClass, method: number, transactionId: Buffer): StunDecodeRequest | undefined {
  return messageClass === MessageClass.Request ? { method, transactionId } : undefined;
}
