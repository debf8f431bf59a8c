import { describe, expect, it } from "vitest";
import { createNonceService, NONCE_COOKIE, NONCE_LENGTH } from "../../src/turn/nonce.js";

const SECRET = Buffer.from("0123456789abcdef0123456789abcdef");
const NOW = 1_700_000_000_000;
const CLIENT = "192.0.2.1";
const PORT = 40_000;

describe("stateless nonces (RFC 8489 §9.2)", () => {
  const nonces = createNonceService({ secret: SECRET });

  it("a nonce issued to a client checks as valid for that client", () => {
    const nonce = nonces.issue(CLIENT, PORT, NOW, true);
    expect(nonces.check(nonce, CLIENT, PORT, NOW)).toBe("valid");
    expect(nonces.check(nonce, CLIENT, PORT, NOW + 1_000)).toBe("valid");
  });

  it("is stateless: another instance with the same secret accepts it, one with another secret does not", () => {
    const nonce = nonces.issue(CLIENT, PORT, NOW, true);
    expect(createNonceService({ secret: Buffer.from(SECRET) }).check(nonce, CLIENT, PORT, NOW)).toBe("valid");
    expect(createNonceService({ secret: Buffer.alloc(32, 7) }).check(nonce, CLIENT, PORT, NOW)).toBe("invalid");
  });

  it("starts with the nonce cookie, stays under 128 characters (§14.10) and needs no escaping", () => {
    for (const address of [CLIENT, "2001:db8::1", "::ffff:198.51.100.7"]) {
      const nonce = nonces.issue(address, 65_535, NOW, true);
      expect(nonce.startsWith(NONCE_COOKIE)).toBe(true);
      expect(nonce).toHaveLength(NONCE_LENGTH);
      expect(nonce.length).toBeLessThan(128);
      expect(nonce).toMatch(/^obMatJos2[A-Za-z0-9+/]{4}[A-Za-z0-9_-]+$/);
    }
  });

  it("is stale once older than staleNonceSeconds (600 by default), valid up to it", () => {
    const nonce = nonces.issue(CLIENT, PORT, NOW, true);
    expect(nonces.check(nonce, CLIENT, PORT, NOW + 600_000)).toBe("valid");
    expect(nonces.check(nonce, CLIENT, PORT, NOW + 600_001)).toBe("stale");
    expect(nonces.check(nonce, CLIENT, PORT, NOW + 86_400_000)).toBe("stale");
  });

  it("honours a configured staleNonceSeconds", () => {
    const short = createNonceService({ secret: SECRET, staleNonceSeconds: 30 });
    const nonce = short.issue(CLIENT, PORT, NOW, false);
    expect(short.check(nonce, CLIENT, PORT, NOW + 30_000)).toBe("valid");
    expect(short.check(nonce, CLIENT, PORT, NOW + 30_001)).toBe("stale");
  });

  it("treats a nonce from the future (clock stepped back) with the same window", () => {
    const nonce = nonces.issue(CLIENT, PORT, NOW, true);
    expect(nonces.check(nonce, CLIENT, PORT, NOW - 1_000)).toBe("valid");
    expect(nonces.check(nonce, CLIENT, PORT, NOW - 600_001)).toBe("stale");
  });

  it("is bound to the client's IP address and port (§9.2.4: no NONCE reuse across sources)", () => {
    const nonce = nonces.issue(CLIENT, PORT, NOW, true);
    expect(nonces.check(nonce, "192.0.2.2", PORT, NOW)).toBe("invalid");
    expect(nonces.check(nonce, CLIENT, PORT + 1, NOW)).toBe("invalid");
    expect(nonces.issue("192.0.2.2", PORT, NOW, true)).not.toBe(nonce);
    expect(nonces.issue(CLIENT, PORT + 1, NOW, true)).not.toBe(nonce);

    const v6 = nonces.issue("2001:db8::1", PORT, NOW, true);
    expect(nonces.check(v6, "2001:db8::1", PORT, NOW)).toBe("valid");
    expect(nonces.check(v6, "2001:db8::2", PORT, NOW)).toBe("invalid");
  });

  it("any changed character makes it invalid (the MAC covers cookie, features and time)", () => {
    const nonce = nonces.issue(CLIENT, PORT, NOW, true);
    for (let i = 0; i < nonce.length; i++) {
      const replacement = nonce[i] === "A" ? "B" : "A";
      const tampered = nonce.slice(0, i) + replacement + nonce.slice(i + 1);
      expect(nonces.check(tampered, CLIENT, PORT, NOW), `position ${i}`).toBe("invalid");
    }
  });

  it("clearing the password-algorithms feature bit (a bid-down) makes it invalid", () => {
    const nonce = nonces.issue(CLIENT, PORT, NOW, true);
    const stripped = `${NONCE_COOKIE}AAAA${nonce.slice(NONCE_COOKIE.length + 4)}`;
    expect(nonces.hasSecurityFeatures(stripped).passwordAlgorithms).toBe(false);
    expect(nonces.check(stripped, CLIENT, PORT, NOW)).toBe("invalid");
  });

  it.each([
    ["empty", ""],
    ["cookie only", NONCE_COOKIE],
    ["RFC 5769 §2.4's nonce", "f//499k954d6OL34oL9FSTvy64sA"],
    ["RFC 8489 B.1's nonce", "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"],
    ["characters outside base64url", `${NONCE_COOKIE}AAAB${"!".repeat(NONCE_LENGTH - 13)}`],
    ["right length, wrong cookie", `xbMatJos2AAAB${"A".repeat(NONCE_LENGTH - 13)}`],
  ])("a malformed or foreign nonce (%s) is invalid", (_, nonce) => {
    expect(nonces.check(nonce, CLIENT, PORT, NOW)).toBe("invalid");
  });

  it("rejects a truncated or extended nonce", () => {
    const nonce = nonces.issue(CLIENT, PORT, NOW, true);
    expect(nonces.check(nonce.slice(0, -1), CLIENT, PORT, NOW)).toBe("invalid");
    expect(nonces.check(`${nonce}A`, CLIENT, PORT, NOW)).toBe("invalid");
  });

  it("encodes the 24-bit security feature set in 4 base64 characters (§9.2, §18.1, erratum 6290)", () => {
    const withAlgorithms = nonces.issue(CLIENT, PORT, NOW, true);
    const without = nonces.issue(CLIENT, PORT, NOW, false);
    expect(withAlgorithms.slice(9, 13)).toBe("AAAB"); // bit 0: password algorithms
    expect(without.slice(9, 13)).toBe("AAAA");
    expect(nonces.hasSecurityFeatures(withAlgorithms)).toEqual({ passwordAlgorithms: true, userhash: false });
    expect(nonces.hasSecurityFeatures(without)).toEqual({ passwordAlgorithms: false, userhash: false });
    expect(nonces.check(without, CLIENT, PORT, NOW)).toBe("valid");
  });

  it("sets the username anonymity bit (bit 1) when asked, with or without password algorithms", () => {
    const both = nonces.issue(CLIENT, PORT, NOW, true, true);
    const anonymityOnly = nonces.issue(CLIENT, PORT, NOW, false, true);
    expect(both.slice(9, 13)).toBe("AAAD");
    expect(anonymityOnly.slice(9, 13)).toBe("AAAC");
    expect(nonces.hasSecurityFeatures(both)).toEqual({ passwordAlgorithms: true, userhash: true });
    expect(nonces.hasSecurityFeatures(anonymityOnly)).toEqual({ passwordAlgorithms: false, userhash: true });
    expect(nonces.check(both, CLIENT, PORT, NOW)).toBe("valid");
    // The bits are under the MAC: a nonce whose bits were changed is not ours.
    expect(nonces.check(`${both.slice(0, 9)}AAAB${both.slice(13)}`, CLIENT, PORT, NOW)).toBe("invalid");
  });

  it("reads the feature bits of any nonce cookie: B.1's AAAC is username anonymity (bit 1)", () => {
    expect(nonces.hasSecurityFeatures("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA")).toEqual({
      passwordAlgorithms: false,
      userhash: true,
    });
    expect(nonces.hasSecurityFeatures("obMatJos2AAADxyz")).toEqual({ passwordAlgorithms: true, userhash: true });
    expect(nonces.hasSecurityFeatures("f//499k954d6OL34oL9FSTvy64sA")).toEqual({ passwordAlgorithms: false, userhash: false });
    expect(nonces.hasSecurityFeatures("obMatJos2A!")).toEqual({ passwordAlgorithms: false, userhash: false });
  });

  it("refuses a short secret and a non-positive staleNonceSeconds", () => {
    expect(() => createNonceService({ secret: Buffer.alloc(8) })).toThrow(RangeError);
    expect(() => createNonceService({ secret: SECRET, staleNonceSeconds: 0 })).toThrow(RangeError);
  });
});
