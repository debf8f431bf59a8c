import { describe, expect, it } from "vitest";
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
