import { describe, expect, it } from "vitest";
import {
  attributeName,
  AttributeType,
  decodeMessage,
  encodeMessage,
  getAttribute,
  MessageClass,
  Method,
  type AttributeEntry,
  type AttributeName,
  type AttributeValues,
} from "../../src/stun/index.js";
import { ALLOCATE_REQUEST, catchDecodeError, hex, rawMessage, TRANSACTION_ID } from "./helpers.js";

function decodeOne<N extends AttributeName>(name: N, type: number, value: Buffer): AttributeValues[N] | undefined {
  return getAttribute(decodeMessage(rawMessage({ type: ALLOCATE_REQUEST, attributes: [{ type, value }] })), name);
}

type Case = readonly [AttributeName, string, string, unknown];

// name, wire value (hex), description, decoded value
const VALID: readonly Case[] = [
  ["MAPPED-ADDRESS", "0001 1f90 c0000201", "IPv4, not XOR'ed (RFC 8489 §14.1)", { family: "IPv4", address: "192.0.2.1", port: 8080 }],
  ["ALTERNATE-SERVER", "0002 0d96 20010db8000000000000000000000001", "IPv6 (§14.15)", { family: "IPv6", address: "2001:db8::1", port: 3478 }],
  ["XOR-RELAYED-ADDRESS", "0001 a147 e112a643", "XOR'ed IPv4 (§14.2)", { family: "IPv4", address: "192.0.2.1", port: 32853 }],
  ["CHANNEL-NUMBER", "4000 ffff", "RFFU ignored (RFC 8656 §18.1)", 0x4000],
  ["LIFETIME", "00000e10", "seconds (RFC 8656 §18.2)", 3600],
  ["DATA", "", "empty (RFC 8656 §18.4)", Buffer.alloc(0)],
  ["DATA", "0102030405", "five bytes", hex("0102030405")],
  ["REQUESTED-ADDRESS-FAMILY", "02000000", "IPv6 (RFC 8656 §18.6)", 2],
  ["REQUESTED-ADDRESS-FAMILY", "03000000", "an unsupported family still decodes (TURN answers 440)", 3],
  ["ADDITIONAL-ADDRESS-FAMILY", "02000000", "RFC 8656 §18.11", 2],
  ["EVEN-PORT", "80", "R bit set (RFC 8656 §18.7)", true],
  ["EVEN-PORT", "7f", "R bit clear, reserved bits ignored", false],
  ["REQUESTED-TRANSPORT", "11000000", "UDP (RFC 8656 §18.8)", 17],
  ["DONT-FRAGMENT", "", "zero length (RFC 8656 §18.9)", true],
  ["RESERVATION-TOKEN", "0102030405060708", "8 bytes (RFC 8656 §18.10)", hex("0102030405060708")],
  ["ADDRESS-ERROR-CODE", "02000428 41646472657373", "family, 440, reason (RFC 8656 §18.12)", { family: 2, code: 440, reason: "Address" }],
  ["ICMP", "0000 0304 000005dc", "type, code, data (RFC 8656 §18.13)", { type: 3, code: 4, data: 1500 }],
  ["ERROR-CODE", "00000401 556e61757468656e74696361746564", "401 (RFC 8489 §14.8)", { code: 401, reason: "Unauthenticated" }],
  ["ERROR-CODE", "fffffe00", "reserved bits ignored: class 6, number 0", { code: 600, reason: "" }],
  ["ERROR-CODE", "00000363", "300 + 99", { code: 399, reason: "" }],
  ["UNKNOWN-ATTRIBUTES", "0030 0031 0032", "three types (§14.13)", [0x30, 0x31, 0x32]],
  ["USERHASH", "00".repeat(32), "32 bytes (§14.4)", Buffer.alloc(32)],
  ["MESSAGE-INTEGRITY", "11".repeat(20), "20 bytes (§14.5)", Buffer.alloc(20, 0x11)],
  ["MESSAGE-INTEGRITY-SHA256", "22".repeat(16), "truncated to 16 bytes (§14.6)", Buffer.alloc(16, 0x22)],
  ["PASSWORD-ALGORITHM", "0001 0000", "MD5, no parameters (§14.12)", { algorithm: 1, parameters: Buffer.alloc(0) }],
  ["PASSWORD-ALGORITHM", "0009 0003 aabbcc", "parameters whose padding is the attribute's", { algorithm: 9, parameters: hex("aabbcc") }],
  ["PASSWORD-ALGORITHMS", "0002 0000 0001 0000", "SHA-256 then MD5 (§14.11)", [{ algorithm: 2, parameters: Buffer.alloc(0) }, { algorithm: 1, parameters: Buffer.alloc(0) }]],
  ["PASSWORD-ALGORITHMS", "0009 0001 ff000000 0001 0000", "padded parameters inside the list", [{ algorithm: 9, parameters: hex("ff") }, { algorithm: 1, parameters: Buffer.alloc(0) }]],
  ["ALTERNATE-DOMAIN", Buffer.from("turn.example.org").toString("hex"), "ASCII DNS name (§14.16)", "turn.example.org"],
  ["ICE-CONTROLLING", "ffffffffffffffff", "64-bit tie-breaker (RFC 8445 §16.1)", 0xffffffffffffffffn],
  ["PRIORITY", "6e0001ff", "RFC 8445 §16.1", 0x6e0001ff],
];

const INVALID: readonly (readonly [AttributeName, string, string])[] = [
  ["MAPPED-ADDRESS", "0001 1f90 c00002", "IPv4 address of 3 bytes"],
  ["CHANNEL-NUMBER", "4000", "length 2"],
  ["LIFETIME", "000e10", "length 3"],
  ["LIFETIME", "00000e1000", "length 5"],
  ["REQUESTED-TRANSPORT", "11", "length 1"],
  ["REQUESTED-ADDRESS-FAMILY", "0200", "length 2"],
  ["EVEN-PORT", "80000000", "length 4"],
  ["EVEN-PORT", "", "length 0"],
  ["DONT-FRAGMENT", "00000000", "length 4"],
  ["USE-CANDIDATE", "00", "length 1"],
  ["RESERVATION-TOKEN", "01020304", "length 4"],
  ["USERHASH", "00".repeat(31), "length 31"],
  ["MESSAGE-INTEGRITY", "00".repeat(19), "length 19"],
  ["MESSAGE-INTEGRITY-SHA256", "00".repeat(12), "length 12"],
  ["MESSAGE-INTEGRITY-SHA256", "00".repeat(18), "length 18, not a multiple of 4"],
  ["MESSAGE-INTEGRITY-SHA256", "00".repeat(36), "length 36"],
  ["ERROR-CODE", "000004", "length 3"],
  ["ERROR-CODE", "00000200", "class 2"],
  ["ERROR-CODE", "00000700", "class 7"],
  ["ERROR-CODE", "00000464", "number 100"],
  ["ERROR-CODE", "00000401 ff", "a reason that is not UTF-8"],
  ["ADDRESS-ERROR-CODE", "02000164", "class 1"],
  ["UNKNOWN-ATTRIBUTES", "003000", "odd length"],
  ["PASSWORD-ALGORITHM", "0001", "length 2"],
  ["PASSWORD-ALGORITHM", "0001 0008 aabb", "parameters overrun"],
  ["PASSWORD-ALGORITHM", "0001 0000 aabbccdd", "bytes after the parameters"],
  ["PASSWORD-ALGORITHMS", "0002 0000 0001", "a truncated second entry"],
  ["ALTERNATE-DOMAIN", Buffer.from("bücher.example").toString("hex"), "not ASCII"],
  ["ALTERNATE-DOMAIN", "61".repeat(256), "256 characters"],
  ["ICMP", "00000304", "length 4"],
  ["ICE-CONTROLLED", "00000000", "length 4"],
  ["CONNECTION-ID", "0000000000", "length 5"],
];

function typeOf(name: AttributeName): number {
  const entry = Object.entries(AttributeType).find(([key]) => key === name.replaceAll("-", "_"));
  if (entry === undefined) throw new Error(`no type for ${name}`);
  return entry[1];
}

describe("attribute codecs decode well-formed values", () => {
  it.each(VALID)("%s: %s (%s)", (name, value, _, expected) => {
    expect(decodeOne(name, typeOf(name), hex(value))).toEqual(expected);
  });
});

describe("attribute codecs reject malformed values with 400 (bad-attribute-value)", () => {
  it.each(INVALID)("%s: %s (%s)", (name, value) => {
    const error = catchDecodeError(() => decodeOne(name, typeOf(name), hex(value)));
    expect(error.reason).toBe("bad-attribute-value");
    expect(error.message).toContain(name);
    expect(error.request).toEqual({ method: Method.Allocate, transactionId: TRANSACTION_ID });
  });
});

describe("the registry (RFC 8489 §18.3, RFC 8656 §18)", () => {
  it("maps every type code in AttributeType to its RFC name and back", () => {
    for (const [key, type] of Object.entries(AttributeType)) {
      const name = attributeName(type);
      expect(name).toBe(key.replaceAll("_", "-"));
    }
    expect(attributeName(0x0030)).toBeUndefined();
  });
});

describe("encodeMessage refuses values the wire cannot carry", () => {
  function encode(attributes: AttributeEntry[], transactionId: Uint8Array = TRANSACTION_ID): Buffer {
    return encodeMessage({ method: Method.Allocate, messageClass: MessageClass.SuccessResponse, transactionId, attributes });
  }

  it.each<[string, AttributeEntry]>([
    ["an address of the wrong family", { name: "XOR-RELAYED-ADDRESS", value: { family: "IPv4", address: "::1", port: 1 } }],
    ["an address that does not parse", { name: "XOR-MAPPED-ADDRESS", value: { family: "IPv4", address: "localhost", port: 1 } }],
    ["a port over 65535", { name: "XOR-MAPPED-ADDRESS", value: { family: "IPv4", address: "10.0.0.1", port: 65536 } }],
    ["a LIFETIME that is negative", { name: "LIFETIME", value: -1 }],
    ["a LIFETIME that is not an integer", { name: "LIFETIME", value: 1.5 }],
    ["a CHANNEL-NUMBER over 16 bits", { name: "CHANNEL-NUMBER", value: 0x10000 }],
    ["an ERROR-CODE outside 300..699", { name: "ERROR-CODE", value: { code: 200, reason: "OK" } }],
    ["a REALM of 128 characters", { name: "REALM", value: "r".repeat(128) }],
    ["a USERNAME of 509 bytes", { name: "USERNAME", value: "u".repeat(509) }],
    ["a SOFTWARE with a lone surrogate", { name: "SOFTWARE", value: "a\ud800b" }],
    ["a USERHASH of 31 bytes", { name: "USERHASH", value: Buffer.alloc(31) }],
    ["a 64 KiB DATA", { name: "DATA", value: Buffer.alloc(0x10000) }],
    ["an ICE-CONTROLLING over 64 bits", { name: "ICE-CONTROLLING", value: 2n ** 64n }],
  ])("%s -> RangeError", (_, entry) => {
    expect(() => encode([entry])).toThrow(RangeError);
  });

  it("a transaction ID that is not 12 bytes -> RangeError", () => {
    expect(() => encode([], new Uint8Array(16))).toThrow(RangeError);
  });

  it("a body over 65535 bytes -> RangeError", () => {
    const data: AttributeEntry = { name: "DATA", value: Buffer.alloc(40000) };
    expect(() => encode([data, data])).toThrow(RangeError);
  });
});

describe("RFC 8489 §5: message type encoding", () => {
  it.each([
    [Method.Binding, MessageClass.Request, 0x0001],
    [Method.Binding, MessageClass.SuccessResponse, 0x0101],
    [Method.Binding, MessageClass.ErrorResponse, 0x0111],
    [Method.Allocate, MessageClass.Request, 0x0003],
    [Method.Allocate, MessageClass.ErrorResponse, 0x0113],
    [Method.Send, MessageClass.Indication, 0x0016],
    [Method.Data, MessageClass.Indication, 0x0017],
    [Method.ChannelBind, MessageClass.SuccessResponse, 0x0109],
    [0xfff, MessageClass.ErrorResponse, 0x3fff],
  ])("method %i, class %i is type %i on the wire", (method, messageClass, type) => {
    const encoded = encodeMessage({ method, messageClass, transactionId: TRANSACTION_ID, attributes: [] });
    expect(encoded.readUInt16BE(0)).toBe(type);
    const decoded = decodeMessage(encoded);
    expect([decoded.method, decoded.messageClass]).toEqual([method, messageClass]);
  });
});
