// Codec properties beyond test/stun/*property*: the RFC vectors under mutation, padding values,
// attributes after MESSAGE-INTEGRITY, and decoding a view of larger memory.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  attributeName,
  decodeMessage,
  encodeMessage,
  getAttributes,
  StunDecodeError,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
  type AttributeName,
  type StunMessage,
} from "../../src/stun/index.js";
import { deriveLongTermKey } from "../../src/stun/integrity.js";
import { outgoingMessage } from "../stun/arbitraries.js";
import { hex } from "../stun/helpers.js";
import { fuzzParameters, fuzzTimeout } from "./fuzz-options.js";
import { VECTORS } from "./turn-commands.js";

const [RFC5769_REQUEST, RFC5769_IPV4, RFC5769_IPV6, RFC5769_LONG_TERM, RFC8489_B1] = VECTORS as [Buffer, Buffer, Buffer, Buffer, Buffer];
const SHORT_TERM_KEY = Buffer.from("VOkJxbRl1RmTxUk/WvJxBt");
const LONG_TERM_KEY = hex("e8ca7ad59d5eb0518e312911d2dab2a9");
const SHA256_KEY = deriveLongTermKey("\u30de\u30c8\u30ea\u30c3\u30af\u30b9", "example.org", "TheMatrIX", "SHA-256");

/** Decodes and reads every attribute; returns a comparable summary, or the decode error's reason. Anything else thrown fails. */
function summarize(bytes: Buffer): string {
  let msg: StunMessage;
  try {
    msg = decodeMessage(bytes);
  } catch (error) {
    if (error instanceof StunDecodeError) return `error ${error.reason} ${error.request === undefined ? "drop" : "400"}`;
    throw error;
  }
  const values = msg.attributes.map((view) => {
    const name = attributeName(view.type) as AttributeName;
    try {
      return JSON.stringify(getAttributes(msg, name), (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
    } catch (error) {
      if (error instanceof StunDecodeError) return `bad ${error.reason}`;
      throw error;
    }
  });
  return JSON.stringify([msg.method, msg.messageClass, msg.transactionId.toString("hex"), msg.unknownComprehensionRequired, msg.hasFingerprint, values]);
}

describe("RFC 5769 / RFC 8489 B.1 vectors under mutation", () => {
  it("the unmutated vectors decode and verify (the control)", () => {
    expect(verifyMessageIntegrity(decodeMessage(RFC5769_REQUEST), SHORT_TERM_KEY)).toBe(true);
    expect(verifyMessageIntegrity(decodeMessage(RFC5769_IPV4), SHORT_TERM_KEY)).toBe(true);
    expect(verifyMessageIntegrity(decodeMessage(RFC5769_IPV6), SHORT_TERM_KEY)).toBe(true);
    expect(verifyMessageIntegrity(decodeMessage(RFC5769_LONG_TERM), LONG_TERM_KEY)).toBe(true);
    expect(verifyMessageIntegritySha256(decodeMessage(RFC8489_B1), SHA256_KEY)).toBe(true);
  });

  it(
    "any change to any byte is caught: FINGERPRINT or the integrity check fails, or the message is refused (RFC 8489 §14.5-§14.7)",
    () => {
      const signed = [
        { bytes: RFC5769_REQUEST, verify: (m: StunMessage) => verifyMessageIntegrity(m, SHORT_TERM_KEY) },
        { bytes: RFC5769_IPV4, verify: (m: StunMessage) => verifyMessageIntegrity(m, SHORT_TERM_KEY) },
        { bytes: RFC5769_IPV6, verify: (m: StunMessage) => verifyMessageIntegrity(m, SHORT_TERM_KEY) },
        { bytes: RFC5769_LONG_TERM, verify: (m: StunMessage) => verifyMessageIntegrity(m, LONG_TERM_KEY) },
        { bytes: RFC8489_B1, verify: (m: StunMessage) => verifyMessageIntegritySha256(m, SHA256_KEY) },
      ];
      fc.assert(
        fc.property(fc.constantFrom(...signed), fc.nat(), fc.integer({ min: 1, max: 255 }), ({ bytes, verify }, pick, xor) => {
          // Protected bytes: everything up to the end of the integrity attribute, and FINGERPRINT's value. (What follows
          // the integrity attribute is not covered by it: a FINGERPRINT renamed into an unknown optional attribute just goes.)
          const protectedBytes = [...Array(integrityEnd(bytes)).keys()];
          if (bytes.readUInt16BE(bytes.length - 8) === 0x8028) protectedBytes.push(bytes.length - 4, bytes.length - 3, bytes.length - 2, bytes.length - 1);
          const at = protectedBytes[pick % protectedBytes.length]!;
          const mutated = Buffer.from(bytes);
          mutated[at] = mutated[at]! ^ xor;
          let message: StunMessage;
          try {
            message = decodeMessage(mutated);
          } catch (error) {
            expect(error).toBeInstanceOf(StunDecodeError);
            return;
          }
          expect(verify(message)).toBe(false);
        }),
        fuzzParameters(600),
      );
    },
    fuzzTimeout(),
  );

  it(
    "overwrites, truncations and spliced attributes of the vectors only ever raise StunDecodeError",
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...VECTORS),
          fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 6 }),
          fc.nat(),
          fc.nat(),
          fc.boolean(),
          (vector, writes, cutAt, spliceFrom, patchLength) => {
            // Splice: repeat one attribute-aligned slice of the vector (duplicates, misplaced FINGERPRINT, MI twice).
            const from = 20 + ((spliceFrom % Math.max(1, (vector.length - 20) / 4)) | 0) * 4;
            let bytes = Buffer.concat([vector, vector.subarray(from, Math.min(vector.length, from + 8 + (cutAt % 40)))]);
            for (const [at, value] of writes) bytes[at % bytes.length] = value;
            bytes = Buffer.from(bytes.subarray(0, Math.max(0, bytes.length - (cutAt % 12))));
            if (patchLength && bytes.length >= 4) bytes.writeUInt16BE(Math.max(0, bytes.length - 20), 2);
            const before = Buffer.from(bytes);
            summarize(bytes);
            verifyMessageIntegrity(tryDecode(bytes), SHORT_TERM_KEY);
            verifyMessageIntegritySha256(tryDecode(bytes), SHA256_KEY);
            expect(bytes).toEqual(before);
          },
        ),
        fuzzParameters(600),
      );
    },
    fuzzTimeout(),
  );
});

/** Where the MESSAGE-INTEGRITY(-SHA256) attribute ends. */
function integrityEnd(bytes: Buffer): number {
  for (let offset = 20; offset + 4 <= bytes.length; ) {
    const type = bytes.readUInt16BE(offset);
    const end = offset + 4 + bytes.readUInt16BE(offset + 2);
    if (type === 0x0008 || type === 0x001c) return end;
    offset = offset + 4 + ((end - offset - 4 + 3) & ~3);
  }
  throw new Error("no integrity attribute");
}

function tryDecode(bytes: Buffer): StunMessage {
  try {
    return decodeMessage(bytes);
  } catch {
    return decodeMessage(RFC5769_IPV4);
  }
}

describe("RFC 8489 §14: values the codec must not depend on", () => {
  it(
    "padding values are ignored: random padding bytes decode to the same values as zero padding",
    () => {
      fc.assert(
        fc.property(outgoingMessage, fc.uint8Array({ minLength: 64, maxLength: 64 }), (message, noise) => {
          const encoded = encodeMessage(message);
          const noisy = Buffer.from(encoded);
          let n = 0;
          for (const view of decodeMessage(encoded).attributes) {
            for (let i = view.offset + view.length; i % 4 !== 0; i++) noisy[i] = noise[n++ % noise.length]!;
          }
          expect(summarize(noisy)).toBe(summarize(encoded));
        }),
        fuzzParameters(400),
      );
    },
    fuzzTimeout(),
  );

  it(
    "attributes appended after MESSAGE-INTEGRITY change nothing: integrity still verifies and earlier values stand (RFC 8489 §14.5)",
    () => {
      const plain = outgoingMessage.filter((m) => m.attributes.length > 0);
      const appended = fc.array(fc.record({ type: fc.integer({ min: 0, max: 0xffff }), value: fc.uint8Array({ maxLength: 24 }) }), { minLength: 1, maxLength: 4 });
      fc.assert(
        fc.property(plain, fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constantFrom("sha1" as const, "sha256" as const), appended, (message, key, algorithm, extra) => {
          const signed = encodeMessage(message, { integrity: { key: Buffer.from(key), algorithm } });
          const tail = Buffer.concat(
            extra
              .filter(({ type }) => type !== 0x8028) // a FINGERPRINT would be checked, and fail
              .map(({ type, value }) => {
                const header = Buffer.alloc(4);
                header.writeUInt16BE(type, 0);
                header.writeUInt16BE(value.length, 2);
                return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
              }),
          );
          const extended = Buffer.concat([signed, tail]);
          extended.writeUInt16BE(extended.length - 20, 2);
          const decoded = decodeMessage(extended);
          const verify = algorithm === "sha1" ? verifyMessageIntegrity : verifyMessageIntegritySha256;
          expect(verify(decoded, Buffer.from(key))).toBe(true);
          expect(decoded.unknownComprehensionRequired).toEqual([]);
          summarize(extended);
          const original = decodeMessage(signed);
          for (const view of original.attributes) {
            const name = attributeName(view.type)!;
            expect(safeValues(decoded, name)).toEqual(safeValues(original, name));
          }
        }),
        fuzzParameters(400),
      );
    },
    fuzzTimeout(),
  );

  it(
    "decoding a view never reads the memory around it: a view of larger memory decodes exactly like a copy",
    () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)), fc.constantFrom(...VECTORS).map((v) => v.subarray(0, v.length - 4))),
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ maxLength: 64 }),
          (bytes, before, after) => {
            const backing = Buffer.concat([before, bytes, after]);
            const view = backing.subarray(before.length, before.length + bytes.length);
            expect(summarize(view)).toBe(summarize(Buffer.from(bytes)));
          },
        ),
        fuzzParameters(600),
      );
    },
    fuzzTimeout(),
  );
});

function safeValues(message: StunMessage, name: AttributeName): unknown {
  try {
    return getAttributes(message, name);
  } catch (error) {
    if (error instanceof StunDecodeError) return error.reason;
    throw error;
  }
}
