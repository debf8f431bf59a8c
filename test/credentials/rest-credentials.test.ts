import { describe, expect, it } from "vitest";
import { mintRestCredential, parseRestUsername, restPassword } from "../../src/credentials/index.js";

// Derived vector (stun-test-vectors.md): base64(HMAC-SHA1("north-secret", "1700000000:alice")).
const SECRET = "north-secret";
const VECTOR_USERNAME = "1700000000:alice";
const VECTOR_PASSWORD = "g+jb180fcj+xlpA/2mP60OdIgU0=";

describe("TURN REST credentials (draft-uberti-behave-turn-rest §2.2)", () => {
  it("password is base64(HMAC-SHA1(secret, username)): the north-secret vector", () => {
    expect(restPassword(SECRET, VECTOR_USERNAME)).toBe(VECTOR_PASSWORD);
  });

  it("mints <expiry>:<user> with expiry = now (seconds, floored) + ttl", () => {
    const credential = mintRestCredential({ secret: SECRET, user: "alice", ttlSeconds: 86_400, nowMs: 1_699_913_600_999 });
    expect(credential).toEqual({
      username: VECTOR_USERNAME,
      password: VECTOR_PASSWORD,
      ttlSeconds: 86_400,
      expiresAtMs: 1_700_000_000_000,
    });
  });

  it("mints <expiry> alone without a user, and honours another separator", () => {
    expect(mintRestCredential({ secret: SECRET, ttlSeconds: 60, nowMs: 1_000_000 }).username).toBe("1060");
    const dashed = mintRestCredential({ secret: SECRET, user: "bob", ttlSeconds: 60, nowMs: 1_000_000, separator: "-" });
    expect(dashed.username).toBe("1060-bob");
    expect(dashed.password).toBe(restPassword(SECRET, "1060-bob"));
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses ttlSeconds %s", (ttlSeconds) => {
    expect(() => mintRestCredential({ secret: SECRET, ttlSeconds, nowMs: 0 })).toThrow(RangeError);
  });

  it("refuses an empty secret", () => {
    expect(() => mintRestCredential({ secret: "", ttlSeconds: 60, nowMs: 0 })).toThrow(RangeError);
  });
});

describe("parseRestUsername: the numeric side is the expiry", () => {
  it.each([
    ["1700000000:alice", 1_700_000_000, "alice"],
    ["alice:1700000000", 1_700_000_000, "alice"], // coturn's alternative order
    ["1700000000", 1_700_000_000, ""],
    ["1700000000:alice:phone", 1_700_000_000, "alice:phone"], // expiry first: the user keeps later colons
    ["alice:phone:1700000000", 1_700_000_000, "alice:phone"],
    ["1700000000:1234", 1_700_000_000, "1234"], // both numeric: the standard order wins
    ["1700000000:", 1_700_000_000, ""],
    ["0:alice", 0, "alice"],
  ])("%s -> expiry %d, user %j", (username, expiresAtSeconds, user) => {
    expect(parseRestUsername(username)).toEqual({ expiresAtSeconds, user });
  });

  it.each([
    "alice",
    "alice:bob",
    "",
    ":",
    "-1700000000:alice",
    "+1700000000:alice",
    "1700000000.5:alice",
    "0x6553f100:alice",
    "01700000000:alice", // a leading zero is not how a timestamp is written
    "170000000000:alice", // 12 digits: beyond year 5000
    " 1700000000:alice",
    "1e9:alice",
  ])("rejects %j: no side is a plausible Unix timestamp", (username) => {
    expect(parseRestUsername(username)).toBeUndefined();
  });

  it("uses the configured separator", () => {
    expect(parseRestUsername("1700000000-alice", "-")).toEqual({ expiresAtSeconds: 1_700_000_000, user: "alice" });
    expect(parseRestUsername("alice-1700000000", "-")).toEqual({ expiresAtSeconds: 1_700_000_000, user: "alice" });
    expect(parseRestUsername("1700000000-alice")).toBeUndefined();
  });
});
