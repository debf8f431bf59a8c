import { AttributeType, HEADER_LENGTH, MAGIC_COOKIE, TRANSACTION_ID_LENGTH } from "./constants.js";
import { attributeSpec, type AttributeEntry, type AttributeName, type AttributeValues } from "./attributes/registry.js";
import { computeFingerprint } from "./fingerprint.js";
import { encodeMessageType } from "./header.js";
import { integrityLength, writeMessageIntegrity } from "./integrity.js";
import type { EncodeOptions, OutgoingMessage } from "./message.js";
import { padTo4 } from "./padding.js";

const FINGERPRINT_ATTRIBUTE_LENGTH = 8;
const MAX_BODY_LENGTH = 0xfffc;

/**
 * One exact-size allocation, zero-filled (so every padding byte is 0); small ones come from Node's
 * shared pool rather than an allocation of their own. MESSAGE-INTEGRITY is computed
 * with the header length ending at itself (RFC 8489 §14.5, §14.6), FINGERPRINT over everything before
 * it with the final length (§14.7).
 */
export function encodeMessage(msg: OutgoingMessage, options: EncodeOptions = {}): Buffer {
  if (msg.transactionId.length !== TRANSACTION_ID_LENGTH) {
    throw new RangeError(`transaction ID must be ${TRANSACTION_ID_LENGTH} bytes`);
  }
  if (!Number.isInteger(msg.method) || msg.method < 0 || msg.method > 0xfff) {
    throw new RangeError(`method ${msg.method} is not a 12-bit number`);
  }

  const { attributes } = msg;
  const sizes = sizesOf(attributes);
  let attributesLength = 0;
  for (let i = 0; i < sizes.length; i++) attributesLength += 4 + padTo4(sizes[i]!);
  const integrity = options.integrity;
  const integrityEnd = attributesLength + (integrity === undefined ? 0 : 4 + integrityLength(integrity.algorithm));
  const bodyLength = integrityEnd + (options.fingerprint === true ? FINGERPRINT_ATTRIBUTE_LENGTH : 0);
  if (bodyLength > MAX_BODY_LENGTH) throw new RangeError(`message body of ${bodyLength} bytes does not fit`);

  const target = Buffer.allocUnsafe(HEADER_LENGTH + bodyLength).fill(0);
  target.writeUInt16BE(encodeMessageType(msg.method, msg.messageClass), 0);
  target.writeUInt32BE(MAGIC_COOKIE, 4);
  target.set(msg.transactionId, 8);

  let position = HEADER_LENGTH;
  for (let i = 0; i < attributes.length; i++) {
    const entry = attributes[i]!;
    const size = sizes[i]!;
    target.writeUInt16BE(attributeSpec(entry.name).type, position);
    target.writeUInt16BE(size, position + 2);
    writeValue(target, position + 4, entry, msg.transactionId);
    position += 4 + padTo4(size);
  }

  if (integrity !== undefined) {
    const type = integrity.algorithm === "sha1" ? AttributeType.MESSAGE_INTEGRITY : AttributeType.MESSAGE_INTEGRITY_SHA256;
    target.writeUInt16BE(type, position);
    target.writeUInt16BE(integrityLength(integrity.algorithm), position + 2);
    writeMessageIntegrity(integrity.algorithm, integrity.key, target, position, HEADER_LENGTH + integrityEnd, target, position + 4);
    position = HEADER_LENGTH + integrityEnd;
  }

  target.writeUInt16BE(bodyLength, 2);
  if (options.fingerprint === true) {
    target.writeUInt16BE(AttributeType.FINGERPRINT, position);
    target.writeUInt16BE(4, position + 2);
    target.writeUInt32BE(computeFingerprint(target.subarray(0, position)), position + 4);
  }
  return target;
}

// Value sizes, in a scratch array reused by every call (encoding is synchronous); at most
// 0x10000 / 4 attributes fit in a message, so a longer list fails on its size anyway.
const scratchSizes: number[] = [];

function sizesOf(attributes: readonly AttributeEntry[]): readonly number[] {
  scratchSizes.length = attributes.length;
  for (let i = 0; i < attributes.length; i++) scratchSizes[i] = valueSize(attributes[i]!);
  return scratchSizes;
}

// Generic over the entry's name so that each codec is called with its own value type.
function valueSize<N extends AttributeName>(entry: { readonly name: N; readonly value: AttributeValues[N] }): number {
  const size = attributeSpec(entry.name).codec.size(entry.value);
  if (size > 0xffff) throw new RangeError(`${entry.name} value of ${size} bytes does not fit`);
  return size;
}

function writeValue<N extends AttributeName>(
  target: Buffer,
  offset: number,
  entry: { readonly name: N; readonly value: AttributeValues[N] },
  transactionId: Uint8Array,
): void {
  attributeSpec(entry.name).codec.write(target, offset, entry.value, transactionId);
}
