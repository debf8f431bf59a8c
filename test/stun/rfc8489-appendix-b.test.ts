import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decodeMessage,
  deriveLongTermKey,
  encodeMessage,
  getAttribute,
  Method,
  MessageClass,
  PasswordAlgorithm,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
} from "../../src/stun/index.js";
import { hex } from "./helpers.js";

// RFC 8489 Appendix B.1 in its errata form (the published bytes are internally inconsistent).
const SAMPLE = hex(
  "000100902112a44278ad3433c6ad72c029da412e001e00204a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704001500296f624d61744a6f733241414143662f2f3439396b39353464364f4c33346f4c394653547679363473410000000014000b6578616d706c652e6f726700001d000400020000001c0020b5c7bf005b6c52a21c51c5e892f81924136296cb927c43149309278cc6518e65",
);
const USERNAME = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9";
const NONCE = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";

describe("RFC 8489 Appendix B.1: MESSAGE-INTEGRITY-SHA256, PASSWORD-ALGORITHM, USERHASH", () => {
  const msg = decodeMessage(SAMPLE);
  const key = deriveLongTermKey(USERNAME, "example.org", "TheMatrIX", "SHA-256");

  it("decodes a Binding request", () => {
    expect(msg.method).toBe(Method.Binding);
    expect(msg.messageClass).toBe(MessageClass.Request);
    expect(msg.unknownComprehensionRequired).toEqual([]);
    expect(msg.hasFingerprint).toBe(false);
  });

  it("USERHASH is SHA-256(username:realm) (§14.4)", () => {
    const expected = createHash("sha256").update(`${USERNAME}:example.org`).digest();
    expect(getAttribute(msg, "USERHASH")).toEqual(expected);
    expect(getAttribute(msg, "USERHASH")?.toString("hex")).toBe(
      "4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704",
    );
  });

  it("reads NONCE, REALM and PASSWORD-ALGORITHM SHA-256 (§14.12)", () => {
    expect(getAttribute(msg, "NONCE")).toBe(NONCE);
    expect(getAttribute(msg, "REALM")).toBe("example.org");
    expect(getAttribute(msg, "PASSWORD-ALGORITHM")).toEqual({
      algorithm: PasswordAlgorithm.SHA256,
      parameters: Buffer.alloc(0),
    });
  });

  it("verifies MESSAGE-INTEGRITY-SHA256 with the SHA-256 long-term key (§9.2.2, §14.6)", () => {
    expect(verifyMessageIntegritySha256(msg, key)).toBe(true);
    expect(verifyMessageIntegritySha256(msg, deriveLongTermKey(USERNAME, "example.org", "TheMatrIX", "MD5"))).toBe(false);
    expect(verifyMessageIntegrity(msg, key)).toBe(false);
  });

  it("re-encodes to identical bytes", () => {
    const encoded = encodeMessage(
      {
        method: Method.Binding,
        messageClass: MessageClass.Request,
        transactionId: msg.transactionId,
        attributes: [
          { name: "USERHASH", value: hex("4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704") },
          { name: "NONCE", value: NONCE },
          { name: "REALM", value: "example.org" },
          { name: "PASSWORD-ALGORITHM", value: { algorithm: PasswordAlgorithm.SHA256, parameters: Buffer.alloc(0) } },
        ],
      },
      { integrity: { key, algorithm: "sha256" } },
    );
    expect(encoded.toString("hex")).toBe(SAMPLE.toString("hex"));
  });

  it("accepts MESSAGE-INTEGRITY-SHA256 truncated to 16 bytes (§14.6)", () => {
    // The sample up to its MAC, the length field pointing at the end of a 16-byte MAC, as a sender does.
    const prefix = Buffer.from(SAMPLE.subarray(0, SAMPLE.length - 36));
    prefix.writeUInt16BE(prefix.length - 20 + 4 + 16, 2);
    const mac = createHmac("sha256", key).update(prefix).digest().subarray(0, 16);
    const truncated = Buffer.concat([prefix, hex("001c0010"), mac]);
    expect(verifyMessageIntegritySha256(decodeMessage(truncated), key)).toBe(true);
    truncated[truncated.length - 1] = (truncated[truncated.length - 1] ?? 0) ^ 1;
    expect(verifyMessageIntegritySha256(decodeMessage(truncated), key)).toBe(false);
  });
});
