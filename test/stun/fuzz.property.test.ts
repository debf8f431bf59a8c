import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  attributeName,
  AttributeType,
  decodeMessage,
  encodeMessage,
  getAttribute,
  getAttributes,
  hasAttribute,
  StunDecodeError,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
} from "../../src/stun/index.js";
import { encodeOptions, outgoingMessage } from "./arbitraries.js";
import { rawMessage } from "./helpers.js";

/**
 * Decodes `bytes` and reads every attribute the way a handler would. Returns what happened;
 * fails if anything but a StunDecodeError escapes.
 */
function exercise(bytes: Buffer): "decoded" | "rejected" {
  const original = Buffer.from(bytes);
  let outcome: "decoded" | "rejected" = "rejected";
  try {
    const msg = decodeMessage(bytes);
    outcome = "decoded";
    verifyMessageIntegrity(msg, Buffer.from("key"));
    verifyMessageIntegritySha256(msg, Buffer.from("key"));
    for (const view of msg.attributes) {
      expect(view.offset + view.length).toBeLessThanOrEqual(bytes.length);
      const name = attributeName(view.type);
      if (name === undefined) throw new Error("an unknown type among the attributes");
      expect(hasAttribute(msg, name)).toBe(true);
      try {
        getAttribute(msg, name);
      } catch (error) {
        expect(error).toBeInstanceOf(StunDecodeError);
      }
      try {
        getAttributes(msg, name);
      } catch (error) {
        expect(error).toBeInstanceOf(StunDecodeError);
      }
    }
  } catch (error) {
    if (!(error instanceof StunDecodeError)) throw error;
  }
  expect(bytes).toEqual(original); // decoding never writes to its input
  return outcome;
}

const KNOWN_TYPES = Object.values(AttributeType);
const attributeType = fc.oneof(
  fc.constantFrom(...KNOWN_TYPES),
  fc.constantFrom(0x0030, 0x7fff, 0x80ff),
  fc.integer({ min: 0, max: 0xffff }),
);
const randomAttribute = fc.record({
  type: attributeType,
  value: fc.uint8Array({ maxLength: 40 }).map((array) => Buffer.from(array)),
});
const messageType = fc.integer({ min: 0, max: 0x3fff });

const validMessage = fc.tuple(outgoingMessage, encodeOptions).map(([message, options]) => encodeMessage(message, options));

describe("RFC 8489 §6.3: hostile bytes only ever raise StunDecodeError", () => {
  it("random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (array) => {
        exercise(Buffer.from(array));
      }),
      { numRuns: 500 },
    );
  });

  it("random bodies behind a valid header", () => {
    const body = fc.integer({ min: 0, max: 30 }).chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }));
    fc.assert(
      fc.property(messageType, body, (type, array) => {
        exercise(Buffer.concat([rawMessage({ type, declaredLength: array.length }), array]));
      }),
      { numRuns: 300 },
    );
  });

  it("well-framed attributes of every known type carrying random values", () => {
    let decoded = 0;
    fc.assert(
      fc.property(messageType, fc.array(randomAttribute, { maxLength: 6 }), (type, attributes) => {
        if (exercise(rawMessage({ type, attributes })) === "decoded") decoded++;
      }),
      { numRuns: 800 },
    );
    expect(decoded).toBeGreaterThan(400); // most are framed correctly; the values are what is under test
  });

  it("bit flips in valid messages", () => {
    fc.assert(
      fc.property(validMessage, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }), (bytes, flips) => {
        for (const [index, bit] of flips) {
          const at = index % bytes.length;
          bytes[at] = (bytes[at] ?? 0) ^ (1 << bit);
        }
        exercise(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it("truncations of valid messages, with and without the header length patched to match", () => {
    fc.assert(
      fc.property(validMessage, fc.nat(), fc.boolean(), (bytes, cut, patch) => {
        const truncated = Buffer.from(bytes.subarray(0, cut % (bytes.length + 1)));
        if (patch && truncated.length >= 4) truncated.writeUInt16BE(Math.max(0, truncated.length - 20), 2);
        exercise(truncated);
      }),
      { numRuns: 300 },
    );
  });

  it("tampered attribute length fields in valid messages", () => {
    fc.assert(
      fc.property(validMessage, fc.nat(), fc.integer({ min: 0, max: 0xffff }), (bytes, pick, length) => {
        const headers: number[] = [];
        for (let position = 20; position + 4 <= bytes.length; ) {
          headers.push(position);
          position += 4 + ((bytes.readUInt16BE(position + 2) + 3) & ~3);
        }
        if (headers.length === 0) return;
        bytes.writeUInt16BE(length, (headers[pick % headers.length] ?? 20) + 2);
        exercise(bytes);
      }),
      { numRuns: 300 },
    );
  });
});
