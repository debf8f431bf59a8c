import { describe, expect, it } from "vitest";
import {
  computeUserhash,
  createCredentialStore,
  mintRestCredential,
  mintWithFirstSecret,
  parseStaticUser,
  restPassword,
} from "../../src/credentials/index.js";
import { deriveLongTermKey, type IntegrityKey } from "../../src/stun/index.js";
import { keyHex } from "../helpers/keys.js";

const REALM = "example.org";
const SECRET = "north-secret";
// stun-test-vectors.md: MD5("1700000000:alice:example.org:g+jb180fcj+xlpA/2mP60OdIgU0=").
const VECTOR_KEY = "21b7a39e7ca72cc4359f0ec60528da8b";
const EXPIRY_MS = 1_700_000_000_000;
const BEFORE_EXPIRY = EXPIRY_MS - 3_600_000;

const hexKeys = (keys: readonly IntegrityKey[]): string[] => keys.map(keyHex);

describe("credential store: TURN REST usernames", () => {
  const store = createCredentialStore({ realm: REALM, staticUsers: [], authSecrets: [SECRET] });

  it("derives the north-secret vector's MD5 long-term key (RFC 8489 §9.2.2)", () => {
    expect(hexKeys(store.keysFor("1700000000:alice", "MD5", BEFORE_EXPIRY))).toEqual([VECTOR_KEY]);
  });

  it("derives the SHA-256 key from the same password", () => {
    const expected = deriveLongTermKey("1700000000:alice", REALM, "g+jb180fcj+xlpA/2mP60OdIgU0=", "SHA-256");
    expect(hexKeys(store.keysFor("1700000000:alice", "SHA-256", BEFORE_EXPIRY))).toEqual([expected.toString("hex")]);
  });

  it("accepts coturn's <user>:<expiry> order (the key covers the username as sent)", () => {
    const password = restPassword(SECRET, "alice:1700000000");
    expect(hexKeys(store.keysFor("alice:1700000000", "MD5", BEFORE_EXPIRY))).toEqual([
      deriveLongTermKey("alice:1700000000", REALM, password, "MD5").toString("hex"),
    ]);
  });

  it("checks the expiry on every request: usable until expiresAtMs, expired from it on", () => {
    expect(store.keysFor("1700000000:alice", "MD5", EXPIRY_MS - 1)).toHaveLength(1);
    expect(store.keysFor("1700000000:alice", "MD5", EXPIRY_MS)).toEqual([]);
    expect(store.keysFor("1700000000:alice", "MD5", EXPIRY_MS + 86_400_000)).toEqual([]);
  });

  it("a minted credential is usable for exactly ttlSeconds", () => {
    const nowMs = 1_650_000_000_000;
    const credential = mintRestCredential({ secret: SECRET, user: "carol", ttlSeconds: 600, nowMs });
    const key = deriveLongTermKey(credential.username, REALM, credential.password, "MD5").toString("hex");
    expect(hexKeys(store.keysFor(credential.username, "MD5", nowMs))).toEqual([key]);
    expect(hexKeys(store.keysFor(credential.username, "MD5", nowMs + 599_999))).toEqual([key]);
    expect(store.keysFor(credential.username, "MD5", nowMs + 600_000)).toEqual([]);
  });

  it("gives no key for a username without a timestamp", () => {
    expect(store.keysFor("alice", "MD5", BEFORE_EXPIRY)).toEqual([]);
  });

  it("several secrets: one candidate key each, all accepted; the first mints", () => {
    const rotated = createCredentialStore({ realm: REALM, staticUsers: [], authSecrets: ["new-secret", SECRET] });
    const keys = hexKeys(rotated.keysFor("1700000000:alice", "MD5", BEFORE_EXPIRY));
    expect(keys).toHaveLength(2);
    expect(keys).toContain(VECTOR_KEY); // minted with the older secret, still accepted

    const minted = mintWithFirstSecret({ authSecrets: ["new-secret", SECRET] }, { user: "alice", ttlSeconds: 60, nowMs: 0 });
    expect(minted.username).toBe("60:alice");
    expect(minted.password).toBe(restPassword("new-secret", "60:alice"));
    expect(() => mintWithFirstSecret({ authSecrets: [] }, { ttlSeconds: 60, nowMs: 0 })).toThrow(/no auth secret/);
  });

  it("uses rest-api-separator both to mint and to parse", () => {
    const dashed = createCredentialStore({ realm: REALM, staticUsers: [], authSecrets: [SECRET], restSeparator: "-" });
    const minted = mintWithFirstSecret({ authSecrets: [SECRET], restSeparator: "-" }, { user: "a", ttlSeconds: 60, nowMs: 0 });
    expect(minted.username).toBe("60-a");
    expect(dashed.keysFor("60-a", "MD5", 0)).toHaveLength(1);
    expect(dashed.keysFor("60:a", "MD5", 0)).toEqual([]);
  });

  it("has no REST keys when no secret is configured", () => {
    const noRest = createCredentialStore({ realm: REALM, staticUsers: [], authSecrets: [] });
    expect(noRest.keysFor("1700000000:alice", "MD5", BEFORE_EXPIRY)).toEqual([]);
  });

  it("cannot reverse USERHASH for REST usernames", () => {
    expect(store.usernameForUserhash(computeUserhash("1700000000:alice", REALM))).toBeUndefined();
  });
});

describe("credential store: static users", () => {
  const store = createCredentialStore({
    realm: "realm",
    staticUsers: [
      parseStaticUser("user:pass"),
      // RFC 8489 §9.2.2's MD5("user:realm:pass"), configured as coturn's hex key.
      parseStaticUser("keyed:0x8493fbc53ba582fb4c044c456bdc40eb"),
    ],
    authSecrets: [],
  });

  it("derives MD5(user:realm:pass) = 8493fbc5… (RFC 8489 §9.2.2) and its SHA-256 form", () => {
    expect(hexKeys(store.keysFor("user", "MD5", 0))).toEqual(["8493fbc53ba582fb4c044c456bdc40eb"]);
    expect(hexKeys(store.keysFor("user", "SHA-256", 0))).toEqual([deriveLongTermKey("user", "realm", "pass", "SHA-256").toString("hex")]);
  });

  it("derives each key once: the same KeyObject every time", () => {
    expect(store.keysFor("user", "SHA-256", 0)[0]).toBe(store.keysFor("user", "SHA-256", 99)[0]);
  });

  it("a hex-key user has its MD5 key as given and no SHA-256 key (that needs the password)", () => {
    expect(hexKeys(store.keysFor("keyed", "MD5", 0))).toEqual(["8493fbc53ba582fb4c044c456bdc40eb"]);
    expect(store.keysFor("keyed", "SHA-256", 0)).toEqual([]);
  });

  it("gives nothing for an unknown user", () => {
    expect(store.keysFor("mallory", "MD5", 0)).toEqual([]);
  });

  it("maps USERHASH = SHA-256(username:realm) back to the user (RFC 8489 §14.4)", () => {
    expect(store.usernameForUserhash(computeUserhash("user", "realm"))).toBe("user");
    expect(store.usernameForUserhash(computeUserhash("keyed", "realm"))).toBe("keyed");
    expect(store.usernameForUserhash(computeUserhash("user", "other-realm"))).toBeUndefined();
    expect(store.usernameForUserhash(Buffer.alloc(16))).toBeUndefined();
  });

  it("offers USERHASH (the nonce's username anonymity bit) only when every username is a static user's", () => {
    const staticOnly = createCredentialStore({ realm: "realm", staticUsers: [parseStaticUser("user:pass")], authSecrets: [] });
    const both = createCredentialStore({ realm: "realm", staticUsers: [parseStaticUser("user:pass")], authSecrets: ["s"] });
    const restOnly = createCredentialStore({ realm: "realm", staticUsers: [], authSecrets: ["s"] });
    expect(staticOnly.offersUserhash).toBe(true);
    // A REST client told to hash its username could never authenticate: its hash cannot be reversed.
    expect(both.offersUserhash).toBe(false);
    expect(restOnly.offersUserhash).toBe(false);
  });

  it("maps RFC 8489 B.1's USERHASH to its username", () => {
    const username = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9";
    const b1 = createCredentialStore({ realm: "example.org", staticUsers: [parseStaticUser(`${username}:TheMatrIX`)], authSecrets: [] });
    const userhash = Buffer.from("4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704", "hex");
    expect(b1.usernameForUserhash(userhash)).toBe(username);
  });

  it("offers both a static user's key and REST keys when both mechanisms match the name", () => {
    const named = createCredentialStore({ realm: REALM, staticUsers: [parseStaticUser("1700000000:pw")], authSecrets: [SECRET] });
    expect(hexKeys(named.keysFor("1700000000", "MD5", BEFORE_EXPIRY))).toEqual([
      deriveLongTermKey("1700000000", REALM, "pw", "MD5").toString("hex"),
      deriveLongTermKey("1700000000", REALM, restPassword(SECRET, "1700000000"), "MD5").toString("hex"),
    ]);
  });
});
