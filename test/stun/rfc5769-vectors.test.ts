import { createSecretKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  computeFingerprint,
  decodeMessage,
  deriveLongTermKey,
  encodeMessage,
  getAttribute,
  hasAttribute,
  Method,
  MessageClass,
  verifyMessageIntegrity,
} from "../../src/stun/index.js";
import { catchDecodeError, hex } from "./helpers.js";

// Byte for byte from RFC 5769 (see the shared test-vector reference).
const SAMPLE_REQUEST = hex(
  "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf",
);
const SAMPLE_IPV4_RESPONSE = hex(
  "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96",
);
const SAMPLE_IPV6_RESPONSE = hex(
  "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c",
);
const SAMPLE_LONG_TERM_REQUEST = hex(
  "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b900000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578616d706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666",
);

// RFC 5769 §2: the short-term key is the password itself.
const SHORT_TERM_KEY = Buffer.from("VOkJxbRl1RmTxUk/WvJxBt", "utf8");
const USERNAME_2_4 = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9";

function withByte(bytes: Buffer, index: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] = value;
  return copy;
}

describe("RFC 5769 §2.1 sample request", () => {
  const msg = decodeMessage(SAMPLE_REQUEST);

  it("decodes the header: Binding request, transaction ID as a view", () => {
    expect(msg.method).toBe(Method.Binding);
    expect(msg.messageClass).toBe(MessageClass.Request);
    expect(msg.transactionId.toString("hex")).toBe("b7e7a701bc34d686fa87dfae");
    expect(msg.transactionId.buffer).toBe(SAMPLE_REQUEST.buffer);
    expect(msg.raw).toBe(SAMPLE_REQUEST);
  });

  it("reads SOFTWARE, PRIORITY, ICE-CONTROLLED and USERNAME (space padding ignored)", () => {
    expect(getAttribute(msg, "SOFTWARE")).toBe("STUN test client");
    expect(getAttribute(msg, "PRIORITY")).toBe(0x6e0001ff);
    expect(getAttribute(msg, "ICE-CONTROLLED")).toBe(0x932ff9b151263b36n);
    expect(getAttribute(msg, "USERNAME")).toBe("evtj:h6vY");
    expect(msg.unknownComprehensionRequired).toEqual([]);
  });

  it("refuses MESSAGE-INTEGRITY with any one of its 20 bytes changed", () => {
    const view = msg.attributes.find((attribute) => attribute.type === 0x0008)!;
    for (let i = 0; i < view.length; i++) {
      const changed = Buffer.from(msg.raw);
      changed[view.offset + i]! ^= 0x01;
      // Decoded without its FINGERPRINT check: only the MAC differs.
      expect(verifyMessageIntegrity({ ...msg, raw: changed }, SHORT_TERM_KEY)).toBe(false);
    }
  });

  it("verifies MESSAGE-INTEGRITY with the short-term key (§14.5) and FINGERPRINT (§14.7)", () => {
    const received = Buffer.from(SAMPLE_REQUEST);
    expect(verifyMessageIntegrity(msg, SHORT_TERM_KEY)).toBe(true);
    expect(verifyMessageIntegrity(msg, Buffer.from("wrong"))).toBe(false);
    // The header length is set to end at MESSAGE-INTEGRITY for the hash (FINGERPRINT follows it), then put back.
    expect(msg.raw).toEqual(received);
    expect(msg.hasFingerprint).toBe(true);
    expect(getAttribute(msg, "FINGERPRINT")).toBe(0xe57a3bcf);
  });

  it("computeFingerprint reproduces the sample's CRC", () => {
    expect(computeFingerprint(SAMPLE_REQUEST.subarray(0, SAMPLE_REQUEST.length - 8))).toBe(0xe57a3bcf);
  });
});

describe("RFC 5769 §2.2 sample IPv4 response", () => {
  const msg = decodeMessage(SAMPLE_IPV4_RESPONSE);

  it("reads XOR-MAPPED-ADDRESS 192.0.2.1:32853 and SOFTWARE", () => {
    expect(msg.messageClass).toBe(MessageClass.SuccessResponse);
    expect(getAttribute(msg, "XOR-MAPPED-ADDRESS")).toEqual({ family: "IPv4", address: "192.0.2.1", port: 32853 });
    expect(getAttribute(msg, "SOFTWARE")).toBe("test vector");
  });

  it("verifies MESSAGE-INTEGRITY and FINGERPRINT", () => {
    expect(verifyMessageIntegrity(msg, SHORT_TERM_KEY)).toBe(true);
    expect(msg.hasFingerprint).toBe(true);
  });

  it("re-encodes to the same layout, with a zero where the sample pads SOFTWARE with a space", () => {
    const expected = withByte(SAMPLE_IPV4_RESPONSE, 20 + 4 + 11, 0x00);
    const encoded = encodeMessage(
      {
        method: Method.Binding,
        messageClass: MessageClass.SuccessResponse,
        transactionId: msg.transactionId,
        attributes: [
          { name: "SOFTWARE", value: "test vector" },
          { name: "XOR-MAPPED-ADDRESS", value: { family: "IPv4", address: "192.0.2.1", port: 32853 } },
        ],
      },
      { integrity: { key: SHORT_TERM_KEY, algorithm: "sha1" }, fingerprint: true },
    );
    // Identical up to MESSAGE-INTEGRITY's value, which covers the (different) padding byte.
    expect(encoded.length).toBe(expected.length);
    expect(encoded.subarray(0, 52)).toEqual(expected.subarray(0, 52));
    expect(decodeMessage(encoded).hasFingerprint).toBe(true);
    expect(verifyMessageIntegrity(decodeMessage(encoded), SHORT_TERM_KEY)).toBe(true);
  });
});

describe("RFC 5769 §2.3 sample IPv6 response", () => {
  const msg = decodeMessage(SAMPLE_IPV6_RESPONSE);

  it("reads XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853", () => {
    expect(getAttribute(msg, "XOR-MAPPED-ADDRESS")).toEqual({
      family: "IPv6",
      address: "2001:db8:1234:5678:11:2233:4455:6677",
      port: 32853,
    });
  });

  it("verifies MESSAGE-INTEGRITY and FINGERPRINT", () => {
    expect(verifyMessageIntegrity(msg, SHORT_TERM_KEY)).toBe(true);
    expect(msg.hasFingerprint).toBe(true);
  });
});

describe("RFC 5769 §2.4 sample request with long-term authentication", () => {
  const msg = decodeMessage(SAMPLE_LONG_TERM_REQUEST);
  const key = deriveLongTermKey(USERNAME_2_4, "example.org", "TheMatrIX", "MD5");

  it("derives the long-term key MD5(username:realm:password) (RFC 8489 §9.2.2)", () => {
    expect(key.toString("hex")).toBe("e8ca7ad59d5eb0518e312911d2dab2a9");
    expect(deriveLongTermKey("user", "realm", "pass", "MD5").toString("hex")).toBe("8493fbc53ba582fb4c044c456bdc40eb");
  });

  it("reads USERNAME, NONCE and REALM, has no FINGERPRINT", () => {
    expect(getAttribute(msg, "USERNAME")).toBe(USERNAME_2_4);
    expect(getAttribute(msg, "NONCE")).toBe("f//499k954d6OL34oL9FSTvy64sA");
    expect(getAttribute(msg, "REALM")).toBe("example.org");
    expect(msg.hasFingerprint).toBe(false);
    expect(hasAttribute(msg, "FINGERPRINT")).toBe(false);
  });

  it("verifies MESSAGE-INTEGRITY with the long-term key", () => {
    expect(verifyMessageIntegrity(msg, key)).toBe(true);
  });

  it("the key as a KeyObject (how the server holds keys) verifies and signs alike", () => {
    expect(verifyMessageIntegrity(msg, createSecretKey(key))).toBe(true);
    expect(verifyMessageIntegrity(msg, createSecretKey(Buffer.from("wrong")))).toBe(false);
    const resigned = encodeMessage(
      { method: Method.Binding, messageClass: MessageClass.Request, transactionId: msg.transactionId, attributes: [{ name: "REALM", value: "example.org" }] },
      { integrity: { key: createSecretKey(key), algorithm: "sha1" } },
    );
    expect(verifyMessageIntegrity(decodeMessage(resigned), key)).toBe(true);
  });

  it("re-encodes USERNAME, NONCE, REALM + MESSAGE-INTEGRITY to identical bytes", () => {
    const encoded = encodeMessage(
      {
        method: Method.Binding,
        messageClass: MessageClass.Request,
        transactionId: hex("78ad3433c6ad72c029da412e"),
        attributes: [
          { name: "USERNAME", value: USERNAME_2_4 },
          { name: "NONCE", value: "f//499k954d6OL34oL9FSTvy64sA" },
          { name: "REALM", value: "example.org" },
        ],
      },
      { integrity: { key, algorithm: "sha1" } },
    );
    expect(encoded.toString("hex")).toBe(SAMPLE_LONG_TERM_REQUEST.toString("hex"));
  });
});

describe("RFC 5769 negative variants", () => {
  it.each([
    ["§2.1", SAMPLE_REQUEST],
    ["§2.2", SAMPLE_IPV4_RESPONSE],
    ["§2.3", SAMPLE_IPV6_RESPONSE],
  ])("%s with byte 27 set to 23 fails FINGERPRINT and is dropped (RFC 8489 §14.7)", (_, sample) => {
    const error = catchDecodeError(() => decodeMessage(withByte(sample, 27, 23)));
    expect(error.reason).toBe("bad-fingerprint");
    expect(error.request).toBeUndefined();
  });

  it("§2.4 with byte 32 set to 10 fails long-term MESSAGE-INTEGRITY", () => {
    const msg = decodeMessage(withByte(SAMPLE_LONG_TERM_REQUEST, 32, 10));
    const key = deriveLongTermKey(USERNAME_2_4, "example.org", "TheMatrIX", "MD5");
    expect(verifyMessageIntegrity(msg, key)).toBe(false);
  });
});
