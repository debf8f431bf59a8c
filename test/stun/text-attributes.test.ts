import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUtf8, TEXT_LIMITS, utf8Size, type StringLimits } from "../../src/stun/attributes/string.js";
import { AttributeType, decodeMessage, getAttribute, Method, type StunMessage } from "../../src/stun/index.js";
import { ALLOCATE_REQUEST, catchDecodeError, hex, rawMessage, SEND_INDICATION } from "./helpers.js";

describe("RFC 8489 §14.3, §14.9, §14.10, §14.14: text limits and UTF-8", () => {
  function decodeText(type: number, value: Buffer, messageType = ALLOCATE_REQUEST): StunMessage {
    return decodeMessage(rawMessage({ type: messageType, attributes: [{ type, value }] }));
  }

  it("USERNAME of 508 bytes parses; 509 bytes -> 400, never truncated", () => {
    expect(getAttribute(decodeText(AttributeType.USERNAME, Buffer.alloc(508, 0x61)), "USERNAME")).toBe("a".repeat(508));
    const error = catchDecodeError(() => getAttribute(decodeText(AttributeType.USERNAME, Buffer.alloc(509, 0x61)), "USERNAME"));
    expect(error.reason).toBe("bad-attribute-value");
    expect(error.request?.method).toBe(Method.Allocate);
  });

  it.each([
    ["REALM", AttributeType.REALM],
    ["NONCE", AttributeType.NONCE],
    ["SOFTWARE", AttributeType.SOFTWARE],
  ] as const)("%s of 127 characters parses, 128 characters -> 400", (name, type) => {
    const wide = "\u00e9"; // two UTF-8 bytes: the limit counts characters
    expect(getAttribute(decodeText(type, Buffer.from(wide.repeat(127))), name)).toBe(wide.repeat(127));
    const error = catchDecodeError(() => getAttribute(decodeText(type, Buffer.from("x".repeat(128))), name));
    expect(error.reason).toBe("bad-attribute-value");
    expect(error.request).toBeDefined();
  });

  it.each([
    ["a 0xFF byte", hex("61ff62")],
    ["an overlong NUL (C0 80)", hex("c080")],
    ["a UTF-16 surrogate (ED A0 80)", hex("eda080")],
    ["a truncated sequence", hex("e383")],
  ])("invalid UTF-8 (%s) in USERNAME -> 400, never U+FFFD", (_, value) => {
    const error = catchDecodeError(() => getAttribute(decodeText(AttributeType.USERNAME, value), "USERNAME"));
    expect(error.reason).toBe("bad-attribute-value");
    expect(error.request).toBeDefined();
  });

  it("a malformed value in an indication -> drop", () => {
    const msg = decodeText(AttributeType.USERNAME, hex("ff"), SEND_INDICATION);
    const error = catchDecodeError(() => getAttribute(msg, "USERNAME"));
    expect(error.request).toBeUndefined();
  });

  it("a leading byte-order mark is kept as sent", () => {
    expect(getAttribute(decodeText(AttributeType.USERNAME, hex("efbbbf61")), "USERNAME")).toBe("\ufeffa");
  });
});

describe("decodeUtf8 / utf8Size: the ASCII shortcut gives the general path's answers", () => {
  // The general path, as it is for any text: fatal UTF-8 decoding, lone surrogates refused, characters counted.
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const characters = (text: string): number => [...text].length;
  function decodeReference(value: Buffer, limits: StringLimits): string | "error" {
    if (value.length >= limits.maxBytes) return "error";
    if (limits.asciiOnly === true && value.some((byte) => byte > 0x7f)) return "error";
    let text: string;
    try {
      text = utf8.decode(value);
    } catch {
      return "error";
    }
    return limits.maxCharacters !== undefined && characters(text) >= limits.maxCharacters ? "error" : text;
  }
  function sizeReference(text: string, limits: StringLimits): number | "error" {
    const size = Buffer.byteLength(text, "utf8");
    if (/\p{Cs}/u.test(text) || (limits.asciiOnly === true && size !== text.length) || size >= limits.maxBytes) return "error";
    return limits.maxCharacters !== undefined && characters(text) >= limits.maxCharacters ? "error" : size;
  }
  const outcome = <T>(run: () => T): T | "error" => {
    try {
      return run();
    } catch {
      return "error";
    }
  };
  const limits = fc.constantFrom<StringLimits>({ maxBytes: 509 }, TEXT_LIMITS, { maxBytes: 256, asciiOnly: true }, { maxBytes: 12, maxCharacters: 5 });
  const ascii = fc.uint8Array({ maxLength: 140 }).map((bytes) => Buffer.from(bytes.map((byte) => byte & 0x7f)));
  const anyBytes = fc.uint8Array({ maxLength: 140 }).map((bytes) => Buffer.from(bytes));

  it("decodes any bytes, ASCII or not, as the general path does", () => {
    fc.assert(
      fc.property(fc.oneof(ascii, anyBytes), limits, (value, limit) => {
        expect(outcome(() => decodeUtf8(value, limit))).toEqual(decodeReference(value, limit));
      }),
      { numRuns: 2000 },
    );
  });

  it("sizes any text, ASCII or not (lone surrogates included), as the general path does", () => {
    // One to four UTF-8 bytes per character, and lone surrogates, near the limits.
    const mixed = fc.string({ unit: fc.constantFrom("a", "\u00e9", "\u20ac", "\u{1f600}", "\ud800"), maxLength: 8 });
    const text = fc.oneof(fc.string({ unit: "binary-ascii", maxLength: 140 }), fc.string({ unit: "binary", maxLength: 140 }), mixed);
    fc.assert(
      fc.property(text, limits, (value, limit) => {
        expect(outcome(() => utf8Size(value, limit))).toEqual(sizeReference(value, limit));
      }),
      { numRuns: 2000 },
    );
  });
});
