import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  attributeName,
  AttributeType,
  decodeMessage,
  encodeMessage,
  getAttributes,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
  type AttributeEntry,
  type AttributeName,
  type StunMessage,
} from "../../src/stun/index.js";
import { encodeOptions, outgoingMessage } from "./arbitraries.js";

const TRAILING_TYPES: readonly number[] = [
  AttributeType.MESSAGE_INTEGRITY,
  AttributeType.MESSAGE_INTEGRITY_SHA256,
  AttributeType.FINGERPRINT,
];

/** The decoded attributes as entries, in wire order, through the public API only. */
function decodedEntries(msg: StunMessage): AttributeEntry[] {
  const seen = new Map<AttributeName, number>();
  const entries: AttributeEntry[] = [];
  for (const view of msg.attributes) {
    if (TRAILING_TYPES.includes(view.type)) continue;
    const name = attributeName(view.type);
    if (name === undefined) throw new Error(`unnamed attribute 0x${view.type.toString(16)}`);
    const index = seen.get(name) ?? 0;
    seen.set(name, index + 1);
    entries.push({ name, value: getAttributes(msg, name)[index] } as AttributeEntry);
  }
  return entries;
}

function paddingBytes(msg: StunMessage): number[] {
  const padding: number[] = [];
  for (const view of msg.attributes) {
    const end = view.offset + view.length;
    for (let i = end; i % 4 !== 0; i++) padding.push(msg.raw[i] ?? -1);
  }
  return padding;
}

describe("RFC 8489 codec properties", () => {
  it("decode(encode(m)) = m for every attribute type, with and without integrity and FINGERPRINT", () => {
    fc.assert(
      fc.property(outgoingMessage, encodeOptions, (message, options) => {
        const encoded = encodeMessage(message, options);
        const msg = decodeMessage(encoded);

        expect(msg.method).toBe(message.method);
        expect(msg.messageClass).toBe(message.messageClass);
        expect(Buffer.from(msg.transactionId)).toEqual(Buffer.from(message.transactionId));
        expect(msg.unknownComprehensionRequired).toEqual([]);
        expect(decodedEntries(msg)).toEqual(message.attributes);
        expect(msg.hasFingerprint).toBe(options.fingerprint);

        const integrity = options.integrity;
        expect(verifyMessageIntegrity(msg, integrity?.key ?? Buffer.alloc(0))).toBe(integrity?.algorithm === "sha1");
        expect(verifyMessageIntegritySha256(msg, integrity?.key ?? Buffer.alloc(0))).toBe(integrity?.algorithm === "sha256");
        if (integrity !== undefined) {
          expect(verifyMessageIntegrity(msg, Buffer.concat([integrity.key, Buffer.from("x")]))).toBe(false);
          expect(verifyMessageIntegritySha256(msg, Buffer.concat([integrity.key, Buffer.from("x")]))).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("every padding byte of every encoded message is zero (RFC 8489 §14)", () => {
    fc.assert(
      fc.property(outgoingMessage, encodeOptions, (message, options) => {
        const msg = decodeMessage(encodeMessage(message, options));
        expect(paddingBytes(msg).every((byte) => byte === 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("the header length is exact and every padding byte is zero, even in recycled memory (RFC 8489 §5, §14)", () => {
    // Small Buffers come from Node's pool of used memory: make every one the encoder gets dirty.
    const allocUnsafe = Buffer.allocUnsafe;
    const dirty = vi.spyOn(Buffer, "allocUnsafe").mockImplementation((size: number) => allocUnsafe(size).fill(0xee));
    try {
      fc.assert(
        fc.property(outgoingMessage, encodeOptions, (message, options) => {
          const encoded = encodeMessage(message, options);
          expect(encoded.readUInt16BE(2)).toBe(encoded.length - 20);
          expect(encoded.length % 4).toBe(0);
          for (let position = 20; position < encoded.length; ) {
            const valueEnd = position + 4 + encoded.readUInt16BE(position + 2);
            const next = position + 4 + ((encoded.readUInt16BE(position + 2) + 3) & ~3);
            expect([...encoded.subarray(valueEnd, next)]).toEqual(new Array(next - valueEnd).fill(0));
            position = next;
          }
        }),
        { numRuns: 200 },
      );
      expect(dirty).toHaveBeenCalled();
    } finally {
      dirty.mockRestore();
    }
  });
});
