import { createHmac, createSecretKey, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hmac, hmacInto, hmacMessageInto, type HmacAlgorithm } from "../../src/stun/hmac.js";

describe("hmac", () => {
  // RFC 2202 (HMAC-SHA1) and RFC 4231 (HMAC-SHA256) test cases 1 and 6 (a key longer than the block).
  const vectors: { algorithm: HmacAlgorithm; key: Buffer; data: string; mac: string }[] = [
    { algorithm: "sha1", key: Buffer.alloc(20, 0x0b), data: "Hi There", mac: "b617318655057264e28bc0b6fb378c8ef146be00" },
    {
      algorithm: "sha1",
      key: Buffer.alloc(80, 0xaa),
      data: "Test Using Larger Than Block-Size Key - Hash Key First",
      mac: "aa4ae5e15272d00e95705637ce8a3b55ed402112",
    },
    { algorithm: "sha256", key: Buffer.alloc(20, 0x0b), data: "Hi There", mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
    {
      algorithm: "sha256",
      key: Buffer.alloc(131, 0xaa),
      data: "Test Using Larger Than Block-Size Key - Hash Key First",
      mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    },
  ];

  it.each(vectors)("matches the RFC 2202 / RFC 4231 vector: $algorithm, $key.length-byte key", ({ algorithm, key, data, mac }) => {
    expect(hmac(algorithm, key, data).toString("hex")).toBe(mac);
    expect(hmac(algorithm, createSecretKey(key), Buffer.from(data)).toString("hex")).toBe(mac);
  });

  it("matches createHmac for keys of every length around the block and data up to the largest STUN message", () => {
    for (const algorithm of ["sha1", "sha256"] as const) {
      for (const keyLength of [0, 1, 16, 20, 32, 63, 64, 65, 200]) {
        const key = randomBytes(keyLength);
        const keyObject = keyLength > 0 ? createSecretKey(key) : undefined;
        for (const dataLength of [0, 1, 55, 56, 64, 119, 1500, 65_556]) {
          const data = randomBytes(dataLength);
          const expected = createHmac(algorithm, key).update(data).digest("hex");
          expect(hmac(algorithm, key, data).toString("hex")).toBe(expected);
          // Twice with a KeyObject: the second call uses the key blocks kept from the first.
          if (keyObject) for (let i = 0; i < 2; i++) expect(hmac(algorithm, keyObject, data).toString("hex")).toBe(expected);
        }
      }
    }
  });

  it("keeps a KeyObject's key blocks per algorithm", () => {
    const key = createSecretKey(randomBytes(100)); // longer than the block: the blocks differ by hash
    for (const algorithm of ["sha1", "sha256", "sha1"] as const) {
      expect(hmac(algorithm, key, "data").toString("hex")).toBe(createHmac(algorithm, key).update("data").digest("hex"));
    }
  });

  it("matches createHmac over more distinct lengths than it keeps views for, in any order", () => {
    const key = createSecretKey(randomBytes(20));
    // 200 lengths, up, down and up again: views made, dropped past the bound, made again.
    const lengths = [...Array.from({ length: 100 }, (_, i) => i * 7), ...Array.from({ length: 100 }, (_, i) => 1_400 - i * 3)];
    for (const length of [...lengths, ...lengths.reverse()]) {
      const data = randomBytes(length);
      for (const algorithm of ["sha1", "sha256"] as const) {
        expect(hmac(algorithm, key, data).toString("hex")).toBe(createHmac(algorithm, key.export()).update(data).digest("hex"));
      }
    }
  });

  it("hmacMessageInto is hmacInto over a message's first bytes with its length field replaced", () => {
    const key = randomBytes(20);
    for (const algorithm of ["sha1", "sha256"] as const) {
      for (const [length, attributeStart, lengthField] of [[20, 20, 0], [44, 20, 24], [120, 96, 100], [1_500, 1_476, 1_480]] as const) {
        const message = randomBytes(length);
        const field = Buffer.alloc(2);
        field.writeUInt16BE(lengthField);
        const parts = [message.subarray(0, 2), field, message.subarray(4, attributeStart)];
        const expected = createHmac(algorithm, key).update(Buffer.concat(parts)).digest();
        const target = Buffer.alloc(expected.length + 8, 0xee);
        hmacMessageInto(algorithm, key, message, attributeStart, lengthField, target, 4);
        expect(target.subarray(4, 4 + expected.length)).toEqual(expected);
        expect([...target.subarray(0, 4), ...target.subarray(4 + expected.length)]).toEqual(new Array(8).fill(0xee));
      }
      // A span the message does not hold is refused, never hashed short.
      expect(() => hmacMessageInto(algorithm, key, randomBytes(40), 44, 24, Buffer.alloc(32), 0)).toThrow(RangeError);
      expect(() => hmacMessageInto(algorithm, key, randomBytes(40), 3, 24, Buffer.alloc(32), 0)).toThrow(RangeError);
    }
  });

  it("takes a list of parts as their concatenation", () => {
    const key = randomBytes(20);
    const parts = [randomBytes(2), Buffer.alloc(0), randomBytes(2), randomBytes(300)];
    expect(hmac("sha1", key, parts)).toEqual(createHmac("sha1", key).update(Buffer.concat(parts)).digest());
    expect(() => hmac("sha1", key, [Buffer.alloc(65_000), Buffer.alloc(557)])).toThrow(RangeError);
  });

  it("takes text as UTF-8", () => {
    const key = randomBytes(16);
    const text = "bob:é€𝄞:\u0000";
    expect(hmac("sha1", key, text)).toEqual(createHmac("sha1", key).update(text, "utf8").digest());
  });

  it("refuses more than the largest STUN message rather than hash part of it", () => {
    const key = randomBytes(16);
    expect(() => hmac("sha1", key, Buffer.alloc(65_557))).toThrow(RangeError);
    expect(() => hmac("sha1", key, "x".repeat(65_557))).toThrow(RangeError);
    expect(hmac("sha1", key, "€".repeat(21_852))).toEqual(createHmac("sha1", key).update("€".repeat(21_852)).digest()); // 65,556 bytes: fits
    expect(() => hmac("sha1", key, "€".repeat(21_853))).toThrow(RangeError); // the last character would not fit
  });

  it.each(["sha1", "sha256"] as const)("hmacInto writes the %s MAC at the offset, every byte of it, and nothing around it", (algorithm) => {
    const key = randomBytes(20);
    const expected = createHmac(algorithm, key).update("data").digest();
    const target = Buffer.alloc(expected.length + 10, 0xee);
    hmacInto(algorithm, key, "data", target, 5);
    expect(target.subarray(5, 5 + expected.length)).toEqual(expected);
    expect([...target.subarray(0, 5), ...target.subarray(5 + expected.length)]).toEqual(new Array(10).fill(0xee));
    expect(() => hmacInto(algorithm, key, "data", Buffer.alloc(expected.length + 4), 5)).toThrow(RangeError);
  });
});
