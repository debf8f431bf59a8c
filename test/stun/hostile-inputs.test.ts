import { describe, expect, it } from "vitest";
import {
  attributeName,
  AttributeType,
  decodeMessage,
  getAttribute,
  getAttributes,
  hasAttribute,
  MAX_UNKNOWN_LISTED,
  Method,
  MessageClass,
  type StunMessage,
} from "../../src/stun/index.js";
import {
  ALLOCATE_REQUEST,
  appendFingerprint,
  BINDING_INDICATION,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  catchDecodeError,
  hex,
  rawMessage,
  SEND_INDICATION,
  TRANSACTION_ID,
  type RawAttribute,
} from "./helpers.js";

const LIFETIME_600: RawAttribute = { type: AttributeType.LIFETIME, value: hex("00000258") };
const LIFETIME_60: RawAttribute = { type: AttributeType.LIFETIME, value: hex("0000003c") };
const MI_DUMMY: RawAttribute = { type: AttributeType.MESSAGE_INTEGRITY, value: Buffer.alloc(20, 0xaa) };
const MI_SHA256_DUMMY: RawAttribute = { type: AttributeType.MESSAGE_INTEGRITY_SHA256, value: Buffer.alloc(32, 0xbb) };

function withLength(bytes: Buffer, length: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt16BE(length, 2);
  return copy;
}

const validBinding = rawMessage({ type: BINDING_REQUEST, attributes: [LIFETIME_600] });

describe("RFC 8489 §6.3: header checks drop the message (no 400)", () => {
  const cases: [string, Buffer, string][] = [
    ["an empty datagram", Buffer.alloc(0), "short-header"],
    ["1 byte", Buffer.alloc(1), "short-header"],
    ["19 bytes", validBinding.subarray(0, 19), "short-header"],
    ["a 20-byte header declaring a body", withLength(rawMessage({ type: BINDING_REQUEST }), 8), "length-mismatch"],
    ["first byte 0x80", Buffer.concat([hex("80"), validBinding.subarray(1)]), "not-stun"],
    ["a ChannelData first byte 0x40", Buffer.concat([hex("40"), validBinding.subarray(1)]), "not-stun"],
    ["a wrong magic cookie", Buffer.concat([validBinding.subarray(0, 4), hex("2112a443"), validBinding.subarray(8)]), "bad-cookie"],
    ["a length not a multiple of 4", withLength(Buffer.concat([validBinding, hex("0000")]), 10), "unaligned-length"],
    ["1-3 stray bytes after the last attribute", withLength(Buffer.concat([validBinding, hex("01")]), 9), "unaligned-length"],
    ["a length shorter than the bytes that follow", withLength(validBinding, 4), "length-mismatch"],
    ["a length longer than the bytes that follow", withLength(validBinding, 12), "length-mismatch"],
    ["a truncated datagram (larger than the read buffer)", validBinding.subarray(0, 24), "length-mismatch"],
  ];

  it.each(cases)("%s -> drop", (_, bytes, reason) => {
    const error = catchDecodeError(() => decodeMessage(bytes));
    expect(error.reason).toBe(reason);
    expect(error.request).toBeUndefined();
  });
});

describe("RFC 8489 §14: attribute overruns are 400 for a request, else drop", () => {
  const overrunLength: RawAttribute = { type: AttributeType.SOFTWARE, value: hex("41424344"), declaredLength: 0xffff };
  const overrunByOne: RawAttribute = { type: AttributeType.SOFTWARE, value: hex("41424344"), declaredLength: 5 };

  it.each([
    ["attribute length 0xFFFF", overrunLength],
    ["an attribute whose padded value runs past the end", overrunByOne],
  ])("%s in a request -> 400 with method and transaction ID", (_, attribute) => {
    const error = catchDecodeError(() => decodeMessage(rawMessage({ type: ALLOCATE_REQUEST, attributes: [attribute] })));
    expect(error.reason).toBe("attribute-overrun");
    expect(error.request?.method).toBe(Method.Allocate);
    expect(error.request?.transactionId).toEqual(TRANSACTION_ID);
  });

  it.each([
    ["an indication", BINDING_INDICATION],
    ["a success response", BINDING_SUCCESS],
  ])("attribute length 0xFFFF in %s -> drop", (_, type) => {
    const error = catchDecodeError(() => decodeMessage(rawMessage({ type, attributes: [overrunLength] })));
    expect(error.reason).toBe("attribute-overrun");
    expect(error.request).toBeUndefined();
  });

  it("never reads past the view it is given, even when the underlying memory continues", () => {
    const message = rawMessage({ type: BINDING_REQUEST, attributes: [overrunByOne] });
    const backing = Buffer.concat([message, Buffer.alloc(64, 0x41)]);
    const error = catchDecodeError(() => decodeMessage(backing.subarray(0, message.length)));
    expect(error.reason).toBe("attribute-overrun");
  });

  it("odd-length attributes with non-zero padding parse; the padding is ignored (RFC 5769 §2.1)", () => {
    const msg = decodeMessage(
      rawMessage({
        type: BINDING_REQUEST,
        attributes: [{ type: AttributeType.USERNAME, value: Buffer.from("alice"), padding: hex("ffffff") }, LIFETIME_600],
      }),
    );
    expect(getAttribute(msg, "USERNAME")).toBe("alice");
    expect(getAttribute(msg, "LIFETIME")).toBe(600);
  });
});

describe("RFC 8656 §18.3 / RFC 8489 §14.2: malformed XOR-PEER-ADDRESS values", () => {
  const ipv4Value = hex("0001 a147 e112a643");
  const ipv6Value = hex("0002 a147 0113a9faa5d3f179bc25f4b5bed2b9d9");
  const cases: [string, Buffer][] = [
    ["length 0", Buffer.alloc(0)],
    ["length 1", hex("00")],
    ["length 4", ipv4Value.subarray(0, 4)],
    ["length 7", ipv4Value.subarray(0, 7)],
    ["length 19", ipv6Value.subarray(0, 19)],
    ["length 21", Buffer.concat([ipv6Value, hex("00")])],
    ["family 0x00", hex("0000 a147 e112a643")],
    ["family 0x03", hex("0003 a147 e112a643")],
    ["an IPv4 family with a 20-byte value", Buffer.concat([hex("0001"), ipv6Value.subarray(2)])],
    ["an IPv6 family with an 8-byte value", hex("0002 a147 e112a643")],
  ];

  it.each(cases)("%s in a CreatePermission request -> 400", (_, value) => {
    const msg = decodeMessage(rawMessage({ type: 0x0008, attributes: [{ type: AttributeType.XOR_PEER_ADDRESS, value }] }));
    const error = catchDecodeError(() => getAttribute(msg, "XOR-PEER-ADDRESS"));
    expect(error.reason).toBe("bad-attribute-value");
    expect(error.request).toEqual({ method: Method.CreatePermission, transactionId: TRANSACTION_ID });
  });

  it.each(cases)("%s in a Send indication -> drop", (_, value) => {
    const msg = decodeMessage(
      rawMessage({ type: SEND_INDICATION, attributes: [{ type: AttributeType.XOR_PEER_ADDRESS, value }] }),
    );
    const error = catchDecodeError(() => getAttributes(msg, "XOR-PEER-ADDRESS"));
    expect(error.reason).toBe("bad-attribute-value");
    expect(error.request).toBeUndefined();
  });

  it("well-formed IPv4 and IPv6 values decode", () => {
    const msg = decodeMessage(
      rawMessage({
        type: 0x0008,
        attributes: [
          { type: AttributeType.XOR_PEER_ADDRESS, value: ipv4Value },
          { type: AttributeType.XOR_PEER_ADDRESS, value: ipv6Value },
        ],
      }),
    );
    expect(getAttributes(msg, "XOR-PEER-ADDRESS")).toEqual([
      { family: "IPv4", address: "192.0.2.1", port: 32853 },
      { family: "IPv6", address: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853 },
    ]);
  });
});

describe("RFC 8489 §6.3.1, §18.3: unknown attributes", () => {
  const unknownRequired: RawAttribute = { type: 0x0030, value: hex("00000000") };
  const unknownOptional: RawAttribute = { type: 0x80ff, value: hex("00000000") };

  it("an unknown comprehension-required attribute in a request is listed for 420, once", () => {
    const msg = decodeMessage(
      rawMessage({ type: BINDING_REQUEST, attributes: [unknownRequired, LIFETIME_600, unknownRequired, { type: 0x7fff, value: Buffer.alloc(0) }] }),
    );
    expect(msg.unknownComprehensionRequired).toEqual([0x0030, 0x7fff]);
    expect(msg.attributes.map((view) => view.type)).toEqual([AttributeType.LIFETIME]);
  });

  it("lists at most MAX_UNKNOWN_LISTED of them, the first ones, from a datagram carrying thousands (still a 420)", () => {
    // 0x0100-0x3FFF: 16,128 distinct unknown types, none known, each with an empty value.
    const types = Array.from({ length: 0x4000 - 0x100 }, (_, i) => 0x100 + i).filter((type) => attributeName(type) === undefined);
    const attributes = types.slice(0, 16_000).map((type): RawAttribute => ({ type, value: Buffer.alloc(0) }));
    const msg = decodeMessage(rawMessage({ type: BINDING_REQUEST, attributes }));
    expect(msg.unknownComprehensionRequired).toEqual(types.slice(0, MAX_UNKNOWN_LISTED));
  });

  it("the same in an indication is listed too (the caller drops it)", () => {
    const msg = decodeMessage(rawMessage({ type: BINDING_INDICATION, attributes: [unknownRequired] }));
    expect(msg.messageClass).toBe(MessageClass.Indication);
    expect(msg.unknownComprehensionRequired).toEqual([0x0030]);
  });

  it("an unknown comprehension-optional attribute (0x80FF) is ignored", () => {
    const msg = decodeMessage(rawMessage({ type: BINDING_REQUEST, attributes: [unknownOptional, LIFETIME_600] }));
    expect(msg.unknownComprehensionRequired).toEqual([]);
    expect(msg.attributes).toHaveLength(1);
    expect(getAttribute(msg, "LIFETIME")).toBe(600);
  });

  it("known ICE and RFC 6062 attributes are never unknown", () => {
    const msg = decodeMessage(
      rawMessage({
        type: BINDING_REQUEST,
        attributes: [
          { type: AttributeType.PRIORITY, value: hex("6e0001ff") },
          { type: AttributeType.USE_CANDIDATE, value: Buffer.alloc(0) },
          { type: AttributeType.CONNECTION_ID, value: hex("00000001") },
        ],
      }),
    );
    expect(msg.unknownComprehensionRequired).toEqual([]);
    expect(getAttribute(msg, "USE-CANDIDATE")).toBe(true);
    expect(getAttribute(msg, "CONNECTION-ID")).toBe(1);
  });
});

describe("RFC 8489 §9: attributes after the integrity attributes", () => {
  function types(msg: StunMessage): number[] {
    return msg.attributes.map((view) => view.type);
  }

  it("a second LIFETIME after MESSAGE-INTEGRITY has no effect", () => {
    const msg = decodeMessage(rawMessage({ type: ALLOCATE_REQUEST, attributes: [LIFETIME_600, MI_DUMMY, LIFETIME_60] }));
    expect(getAttribute(msg, "LIFETIME")).toBe(600);
    expect(getAttributes(msg, "LIFETIME")).toEqual([600]);
  });

  it("a LIFETIME only after MESSAGE-INTEGRITY is absent", () => {
    const msg = decodeMessage(rawMessage({ type: ALLOCATE_REQUEST, attributes: [MI_DUMMY, LIFETIME_60] }));
    expect(hasAttribute(msg, "LIFETIME")).toBe(false);
    expect(getAttribute(msg, "LIFETIME")).toBeUndefined();
  });

  it("MESSAGE-INTEGRITY-SHA256 after MESSAGE-INTEGRITY counts and is not a 420", () => {
    const msg = decodeMessage(rawMessage({ type: BINDING_REQUEST, attributes: [MI_DUMMY, MI_SHA256_DUMMY] }));
    expect(types(msg)).toEqual([AttributeType.MESSAGE_INTEGRITY, AttributeType.MESSAGE_INTEGRITY_SHA256]);
    expect(msg.unknownComprehensionRequired).toEqual([]);
  });

  it("unknown comprehension-required attributes after MESSAGE-INTEGRITY are ignored, not 420", () => {
    const msg = decodeMessage(
      rawMessage({ type: BINDING_REQUEST, attributes: [MI_DUMMY, { type: 0x0030, value: Buffer.alloc(4) }] }),
    );
    expect(msg.unknownComprehensionRequired).toEqual([]);
  });

  it("after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT counts (a later MESSAGE-INTEGRITY is ignored)", () => {
    const msg = decodeMessage(rawMessage({ type: BINDING_REQUEST, attributes: [MI_SHA256_DUMMY, MI_DUMMY, LIFETIME_60] }));
    expect(types(msg)).toEqual([AttributeType.MESSAGE_INTEGRITY_SHA256]);
  });

  it("FINGERPRINT after ignored attributes is still verified and counts", () => {
    const msg = decodeMessage(appendFingerprint(rawMessage({ type: BINDING_REQUEST, attributes: [MI_DUMMY, LIFETIME_60] })));
    expect(msg.hasFingerprint).toBe(true);
    expect(types(msg)).toEqual([AttributeType.MESSAGE_INTEGRITY, AttributeType.FINGERPRINT]);
  });
});

describe("RFC 8489 §14.7: FINGERPRINT must be last and must match", () => {
  const valid = appendFingerprint(rawMessage({ type: BINDING_REQUEST, attributes: [LIFETIME_600] }));

  it("a valid FINGERPRINT sets hasFingerprint", () => {
    expect(decodeMessage(valid).hasFingerprint).toBe(true);
  });

  it("a wrong CRC -> drop, even in a request", () => {
    const tampered = Buffer.from(valid);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0x01;
    const error = catchDecodeError(() => decodeMessage(tampered));
    expect(error.reason).toBe("bad-fingerprint");
    expect(error.request).toBeUndefined();
  });

  it("an attribute after FINGERPRINT -> drop", () => {
    const trailing = rawMessage({
      type: BINDING_REQUEST,
      attributes: [{ type: AttributeType.FINGERPRINT, value: valid.subarray(valid.length - 4) }, LIFETIME_600],
    });
    const error = catchDecodeError(() => decodeMessage(trailing));
    expect(error.reason).toBe("fingerprint-not-last");
    expect(error.request).toBeUndefined();
  });

  it("a FINGERPRINT of the wrong length -> drop", () => {
    const error = catchDecodeError(() =>
      decodeMessage(rawMessage({ type: BINDING_REQUEST, attributes: [{ type: AttributeType.FINGERPRINT, value: hex("0000000000000000") }] })),
    );
    expect(error.reason).toBe("bad-fingerprint");
  });

  it("a message without FINGERPRINT is accepted with hasFingerprint false", () => {
    expect(decodeMessage(rawMessage({ type: BINDING_REQUEST })).hasFingerprint).toBe(false);
  });
});

describe("RFC 8489 §14: duplicate attributes", () => {
  it("getAttribute returns the first; getAttributes returns all in wire order", () => {
    const msg = decodeMessage(
      rawMessage({
        type: ALLOCATE_REQUEST,
        attributes: [
          LIFETIME_600,
          { type: AttributeType.USERNAME, value: Buffer.from("alice") },
          LIFETIME_60,
          { type: AttributeType.USERNAME, value: Buffer.from("mallory") },
        ],
      }),
    );
    expect(getAttribute(msg, "LIFETIME")).toBe(600);
    expect(getAttribute(msg, "USERNAME")).toBe("alice");
    expect(getAttributes(msg, "LIFETIME")).toEqual([600, 60]);
  });
});
