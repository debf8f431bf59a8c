import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { computeUserhash, createCredentialStore, parseStaticUser } from "../../src/credentials/index.js";
import {
  decodeMessage,
  deriveLongTermKey,
  encodeMessage,
  ErrorCode,
  getAttribute,
  MessageClass,
  Method,
  PasswordAlgorithm,
  type AttributeEntry,
  type AttributeValues,
  type StunMessage,
} from "../../src/stun/index.js";
import { writeMessageIntegrity } from "../../src/stun/integrity.js";
import {
  assertSameUser,
  authenticate,
  offeredPasswordAlgorithms,
  unauthenticatedChallenge,
  type AuthContext,
  type Authenticated,
} from "../../src/turn/authenticate.js";
import { createNonceService } from "../../src/turn/nonce.js";
import { CredentialRejected, StunError } from "../../src/turn/stun-error.js";
import { hex, TRANSACTION_ID } from "../stun/helpers.js";
import { keyHex } from "../helpers/keys.js";

const REALM = "example.org";
const CLIENT = "192.0.2.1";
const PORT = 40_000;
const NOW = 1_699_999_000_000; // before the REST vector's expiry, 1700000000
const MATRIX_USER = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9";

const md5Key = (user: string, password: string): Buffer => deriveLongTermKey(user, REALM, password, "MD5");
const sha256Key = (user: string, password: string): Buffer => deriveLongTermKey(user, REALM, password, "SHA-256");
const BOB_MD5_HEX = createHash("md5").update(`bob:${REALM}:builder`).digest("hex");

const nonces = createNonceService({ secret: Buffer.alloc(32, 0x5a) });
const credentials = createCredentialStore({
  realm: REALM,
  staticUsers: [
    parseStaticUser("alice:wonderland"),
    parseStaticUser(`bob:0x${BOB_MD5_HEX}`),
    parseStaticUser(`${MATRIX_USER}:TheMatrIX`),
  ],
  authSecrets: ["south-secret", "north-secret"],
});
const ctx: AuthContext = { realm: REALM, nonces, credentials, nowMs: NOW, clientAddress: CLIENT, clientPort: PORT };

type PasswordAlgorithmEntry = AttributeValues["PASSWORD-ALGORITHM"];
const MD5_ENTRY: PasswordAlgorithmEntry = { algorithm: PasswordAlgorithm.MD5, parameters: Buffer.alloc(0) };
const SHA256_ENTRY: PasswordAlgorithmEntry = { algorithm: PasswordAlgorithm.SHA256, parameters: Buffer.alloc(0) };

function freshNonce(at = NOW, passwordAlgorithms = true): string {
  return nonces.issue(CLIENT, PORT, at, passwordAlgorithms);
}

/** An Allocate request as a client would send it, decoded as the server receives it. */
function request(
  attributes: readonly AttributeEntry[],
  integrity?: { readonly key: Buffer; readonly algorithm: "sha1" | "sha256" },
): StunMessage {
  const bytes = encodeMessage(
    { method: Method.Allocate, messageClass: MessageClass.Request, transactionId: TRANSACTION_ID, attributes },
    integrity === undefined ? {} : { integrity },
  );
  return decodeMessage(bytes);
}

function identity(username: string, nonce = freshNonce()): AttributeEntry[] {
  return [
    { name: "REQUESTED-TRANSPORT", value: 17 },
    { name: "USERNAME", value: username },
    { name: "REALM", value: REALM },
    { name: "NONCE", value: nonce },
  ];
}

/** What an RFC 8489 client sends after a challenge: PASSWORD-ALGORITHMS echoed, one chosen. */
function negotiated(chosen = SHA256_ENTRY): AttributeEntry[] {
  return [
    { name: "PASSWORD-ALGORITHMS", value: offeredPasswordAlgorithms() },
    { name: "PASSWORD-ALGORITHM", value: chosen },
  ];
}

/** The StunError authenticate returns for this request (it never throws one). */
function rejection(message: StunMessage, context: AuthContext = ctx): StunError {
  const result = authenticate(message, context);
  if (!(result instanceof StunError)) throw new Error("expected a StunError, the request authenticated");
  return result;
}

/** Who authenticate says sent this request; fails the test when it answers with an error. */
function authenticated(message: StunMessage, context: AuthContext = ctx): Authenticated {
  const result = authenticate(message, context);
  if (result instanceof StunError) throw new Error(`expected the request to authenticate, got ${result.code} (${result.message})`);
  return result;
}

/** The challenge attributes: REALM, a NONCE valid for this client with the feature bit, PASSWORD-ALGORITHMS. */
function expectChallenge(error: StunError, context: AuthContext = ctx): void {
  expect(error.attributes.map((attribute) => attribute.name)).toEqual(["REALM", "NONCE", "PASSWORD-ALGORITHMS"]);
  const [realm, nonce, algorithms] = error.attributes;
  expect(realm?.value).toBe(REALM);
  const nonceText = nonce?.value as string;
  expect(nonces.check(nonceText, context.clientAddress, context.clientPort, context.nowMs)).toBe("valid");
  expect(nonces.hasSecurityFeatures(nonceText).passwordAlgorithms).toBe(true);
  expect(algorithms?.value).toEqual([MD5_ENTRY, SHA256_ENTRY]);
}

describe("authenticate (RFC 8489 §9.2.4): challenges", () => {
  it("401 with REALM, NONCE and PASSWORD-ALGORITHMS when there is no MESSAGE-INTEGRITY", () => {
    const error = rejection(request([{ name: "REQUESTED-TRANSPORT", value: 17 }]));
    expect(error.code).toBe(ErrorCode.Unauthenticated);
    expectChallenge(error);
  });

  it("401 without integrity even when USERNAME, REALM and NONCE are present (a first request is not trusted)", () => {
    const error = rejection(request(identity("alice")));
    expect(error.code).toBe(ErrorCode.Unauthenticated);
    expectChallenge(error);
  });

  it("the challenge encodes into an error response a client can read back", () => {
    const bytes = encodeMessage({
      method: Method.Allocate,
      messageClass: MessageClass.ErrorResponse,
      transactionId: TRANSACTION_ID,
      attributes: [{ name: "ERROR-CODE", value: { code: 401, reason: "Unauthenticated" } }, ...unauthenticatedChallenge(ctx)],
    });
    const response = decodeMessage(bytes);
    expect(getAttribute(response, "REALM")).toBe(REALM);
    expect(getAttribute(response, "NONCE")).toMatch(/^obMatJos2AAAB/);
    expect(getAttribute(response, "PASSWORD-ALGORITHMS")).toEqual([MD5_ENTRY, SHA256_ENTRY]);
  });
});

describe("authenticate (RFC 8489 §9.2.4): 400 Bad Request", () => {
  const key = md5Key("alice", "wonderland");
  const nonce = freshNonce();
  const USERNAME: AttributeEntry = { name: "USERNAME", value: "alice" };
  const REALM_ATTR: AttributeEntry = { name: "REALM", value: REALM };
  const NONCE_ATTR: AttributeEntry = { name: "NONCE", value: nonce };

  it.each([
    ["USERNAME/USERHASH", [REALM_ATTR, NONCE_ATTR]],
    ["REALM", [USERNAME, NONCE_ATTR]],
    ["NONCE", [USERNAME, REALM_ATTR]],
  ] as const)("integrity without %s -> 400, no challenge attributes", (_, attributes) => {
    for (const algorithm of ["sha1", "sha256"] as const) {
      const error = rejection(request(attributes, { key, algorithm }));
      expect(error.code).toBe(ErrorCode.BadRequest);
      expect(error.attributes).toEqual([]);
    }
  });

  it("both USERNAME and USERHASH -> 400", () => {
    const attributes: AttributeEntry[] = [
      USERNAME,
      { name: "USERHASH", value: computeUserhash("alice", REALM) },
      REALM_ATTR,
      NONCE_ATTR,
    ];
    expect(rejection(request(attributes, { key, algorithm: "sha1" })).code).toBe(ErrorCode.BadRequest);
  });
});

describe("authenticate (RFC 8489 §9.2.4): 438 Stale Nonce with a fresh challenge", () => {
  const key = md5Key("alice", "wonderland");

  it.each([
    ["older than staleNonceSeconds", () => freshNonce(NOW - 600_001)],
    ["issued to another port", () => nonces.issue(CLIENT, PORT + 1, NOW, true)],
    ["issued to another address", () => nonces.issue("198.51.100.9", PORT, NOW, true)],
    ["issued under another secret", () => createNonceService({ secret: Buffer.alloc(32, 1) }).issue(CLIENT, PORT, NOW, true)],
    ["not one of ours (RFC 5769 §2.4)", () => "f//499k954d6OL34oL9FSTvy64sA"],
  ])("nonce %s -> 438", (_, makeNonce) => {
    const error = rejection(request(identity("alice", makeNonce()), { key, algorithm: "sha1" }));
    expect(error.code).toBe(ErrorCode.StaleNonce);
    expectChallenge(error);
  });

  it("a nonce we did not issue to this client is 438 before any credential check: no key derived, no credential rejected in a spoofed source's name", () => {
    for (const nonce of [nonces.issue("198.51.100.9", PORT, NOW, true), "obMatJos2AAAB" + "A".repeat(24)]) {
      const wrongPassword = rejection(request(identity("alice", nonce), { key: md5Key("alice", "looking-glass"), algorithm: "sha1" }));
      expect(wrongPassword.code).toBe(ErrorCode.StaleNonce);
      expect(wrongPassword).not.toBeInstanceOf(CredentialRejected);
    }
  });

  it("freshness is checked last (§9.2.4): a stale nonce with a wrong password is 401, with a bad PASSWORD-ALGORITHMS 400, from an unknown user 401", () => {
    const stale = freshNonce(NOW - 600_001);
    const wrongPassword = rejection(request(identity("alice", stale), { key: md5Key("alice", "looking-glass"), algorithm: "sha1" }));
    expect(wrongPassword.code).toBe(ErrorCode.Unauthenticated);
    expectChallenge(wrongPassword);
    const sha = sha256Key("alice", "wonderland");
    const reordered: AttributeEntry[] = [
      ...identity("alice", stale),
      { name: "PASSWORD-ALGORITHMS", value: [SHA256_ENTRY, MD5_ENTRY] },
      { name: "PASSWORD-ALGORITHM", value: SHA256_ENTRY },
    ];
    expect(rejection(request(reordered, { key: sha, algorithm: "sha256" })).code).toBe(ErrorCode.BadRequest);
    expect(rejection(request(identity("mallory", stale), { key: md5Key("mallory", "x"), algorithm: "sha1" })).code).toBe(ErrorCode.Unauthenticated);
    // The right password with that nonce: 438, as above.
    expect(rejection(request(identity("alice", stale), { key, algorithm: "sha1" })).code).toBe(ErrorCode.StaleNonce);
  });

  it("a nonce at exactly staleNonceSeconds is still accepted", () => {
    const result = authenticated(request(identity("alice", freshNonce(NOW - 600_000)), { key, algorithm: "sha1" }), ctx);
    expect(result.username).toBe("alice");
  });
});

describe("authenticate (RFC 8489 §9.2.4): 401 for unknown users and failed integrity", () => {
  it.each([
    ["wrong password", "alice", md5Key("alice", "looking-glass")],
    ["unknown user", "mallory", md5Key("mallory", "wonderland")],
    ["REST username without a timestamp", "carol", md5Key("carol", "x")],
    ["REST password from an unknown secret", "1700000000:alice", md5Key("1700000000:alice", "not-the-password")],
  ])("%s -> 401 with a challenge, as a rejected credential naming the user", (_, username, key) => {
    const error = rejection(request(identity(username), { key, algorithm: "sha1" }));
    expect(error.code).toBe(ErrorCode.Unauthenticated);
    expectChallenge(error);
    expect(error).toBeInstanceOf(CredentialRejected);
    expect((error as CredentialRejected).username).toBe(username);
  });

  it("an expired REST credential -> 401 (expiry checked on every request)", () => {
    const key = md5Key("1700000000:alice", "g+jb180fcj+xlpA/2mP60OdIgU0=");
    const later: AuthContext = { ...ctx, nowMs: 1_700_000_000_000 };
    const nonce = nonces.issue(CLIENT, PORT, later.nowMs, true);
    const message = request(identity("1700000000:alice", nonce), { key, algorithm: "sha1" });
    expect(authenticated(message, { ...later, nowMs: later.nowMs - 1 }).username).toBe("1700000000:alice");
    const error = rejection(message, later);
    expect(error.code).toBe(ErrorCode.Unauthenticated);
    expectChallenge(error, later);
  });

  it("REALM of another server -> 401 with our REALM", () => {
    const key = deriveLongTermKey("alice", "elsewhere.example", "wonderland", "MD5");
    const attributes = identity("alice").map(
      (attribute): AttributeEntry => (attribute.name === "REALM" ? { name: "REALM", value: "elsewhere.example" } : attribute),
    );
    const error = rejection(request(attributes, { key, algorithm: "sha1" }));
    expect(error.code).toBe(ErrorCode.Unauthenticated);
    expectChallenge(error);
    expect(error).toMatchObject({ name: "CredentialRejected", message: "REALM is not this server's", username: "alice" });
  });

  it("the unsigned first request's 401 is a challenge, not a rejected credential", () => {
    expect(rejection(request(identity("alice")))).not.toBeInstanceOf(CredentialRejected);
  });

  it("a tampered request -> 401", () => {
    const bytes = Buffer.from(request(identity("alice"), { key: md5Key("alice", "wonderland"), algorithm: "sha1" }).raw);
    bytes[24] = (bytes[24] ?? 0) ^ 0x01; // REQUESTED-TRANSPORT protocol 17 -> 16
    expect(rejection(decodeMessage(bytes)).code).toBe(ErrorCode.Unauthenticated);
  });

  it("SHA-256 key when PASSWORD-ALGORITHM says MD5 -> 401", () => {
    const message = request([...identity("alice"), ...negotiated(MD5_ENTRY)], {
      key: sha256Key("alice", "wonderland"),
      algorithm: "sha256",
    });
    expect(rejection(message).code).toBe(ErrorCode.Unauthenticated);
  });
});

/** Compares keys by their bytes: the store holds them as KeyObjects, which toEqual cannot tell apart. */
function expectAuthenticated(message: StunMessage, expected: Authenticated, context: AuthContext = ctx): void {
  const { key, ...rest } = authenticated(message, context);
  expect({ ...rest, key: keyHex(key) }).toEqual({ ...expected, key: keyHex(expected.key) });
}

describe("authenticate: success", () => {

  it("browser case: MESSAGE-INTEGRITY, MD5 key, no PASSWORD-ALGORITHM(S), nonce with the feature bit", () => {
    const key = md5Key("alice", "wonderland");
    expectAuthenticated(request(identity("alice"), { key, algorithm: "sha1" }), {
      username: "alice",
      key,
      integrity: "sha1",
      passwordAlgorithm: "MD5",
    });
  });

  it("browser case with a REST credential: the north-secret vector (key 21b7a39e…)", () => {
    const key = hex("21b7a39e7ca72cc4359f0ec60528da8b");
    expectAuthenticated(request(identity("1700000000:alice"), { key, algorithm: "sha1" }), {
      username: "1700000000:alice",
      key,
      integrity: "sha1",
      passwordAlgorithm: "MD5",
    });
  });

  it("a REST credential minted with the first secret is accepted too", () => {
    const key = md5Key("1700000000:alice", restPasswordOf("south-secret", "1700000000:alice"));
    expect(keyHex(authenticated(request(identity("1700000000:alice"), { key, algorithm: "sha1" }), ctx).key)).toBe(keyHex(key));
  });

  it("SHA-256: MESSAGE-INTEGRITY-SHA256, PASSWORD-ALGORITHMS echoed, PASSWORD-ALGORITHM SHA-256 (§9.2.5)", () => {
    const key = sha256Key("alice", "wonderland");
    expectAuthenticated(request([...identity("alice"), ...negotiated()], { key, algorithm: "sha256" }), {
      username: "alice",
      key,
      integrity: "sha256",
      passwordAlgorithm: "SHA-256",
    });
  });

  it("a MESSAGE-INTEGRITY-SHA256 truncated below 32 bytes -> 400 (RFC 8489 §14.6: TURN allows no truncation); whole, it verifies", () => {
    const key = sha256Key("alice", "wonderland");
    /** The request signed with the first `bytes` of its HMAC-SHA256, as a client that truncates would send it. */
    const signedWith = (bytes: number): StunMessage => {
      const unsigned = encodeMessage({ method: Method.Allocate, messageClass: MessageClass.Request, transactionId: TRANSACTION_ID, attributes: [...identity("alice"), ...negotiated()] });
      const signed = Buffer.concat([unsigned, Buffer.alloc(4 + bytes)]);
      signed.writeUInt16BE(signed.length - 20, 2);
      signed.writeUInt16BE(0x001c, unsigned.length);
      signed.writeUInt16BE(bytes, unsigned.length + 2);
      createHmac("sha256", key).update(signed.subarray(0, unsigned.length)).digest().copy(signed, unsigned.length + 4, 0, bytes);
      return decodeMessage(signed);
    };
    for (const bytes of [16, 20, 28]) expect(rejection(signedWith(bytes)).code).toBe(ErrorCode.BadRequest);
    expect(authenticated(signedWith(32)).integrity).toBe("sha256");
  });

  it("SHA-256 with a REST credential", () => {
    const key = sha256Key("1700000000:alice", "g+jb180fcj+xlpA/2mP60OdIgU0=");
    const result = authenticated(request([...identity("1700000000:alice"), ...negotiated()], { key, algorithm: "sha256" }), ctx);
    expect(result).toMatchObject({ username: "1700000000:alice", integrity: "sha256", passwordAlgorithm: "SHA-256" });
  });

  it("MESSAGE-INTEGRITY-SHA256 with MD5 chosen; without PASSWORD-ALGORITHM(S) (MD5 default) the responses use MESSAGE-INTEGRITY (§9.2.4)", () => {
    const key = md5Key("alice", "wonderland");
    expectAuthenticated(request([...identity("alice"), ...negotiated(MD5_ENTRY)], { key, algorithm: "sha256" }), {
      username: "alice",
      key,
      integrity: "sha256",
      passwordAlgorithm: "MD5",
    });
    expect(authenticated(request(identity("alice"), { key, algorithm: "sha256" }), ctx)).toMatchObject({ integrity: "sha1", passwordAlgorithm: "MD5" });
  });

  it("MESSAGE-INTEGRITY with a password algorithm negotiated: the responses use MESSAGE-INTEGRITY-SHA256 (§9.2.4)", () => {
    const md5 = md5Key("alice", "wonderland");
    expect(authenticated(request([...identity("alice"), ...negotiated(MD5_ENTRY)], { key: md5, algorithm: "sha1" }), ctx)).toMatchObject({ integrity: "sha256", passwordAlgorithm: "MD5" });
    const sha = sha256Key("alice", "wonderland");
    expect(authenticated(request([...identity("alice"), ...negotiated()], { key: sha, algorithm: "sha1" }), ctx)).toMatchObject({ integrity: "sha256", passwordAlgorithm: "SHA-256" });
    // PASSWORD-ALGORITHM alone, under a nonce without the feature bit, negotiates too.
    const alone: AttributeEntry[] = [...identity("alice", freshNonce(NOW, false)), { name: "PASSWORD-ALGORITHM", value: SHA256_ENTRY }];
    expect(authenticated(request(alone, { key: sha, algorithm: "sha1" }), ctx)).toMatchObject({ integrity: "sha256", passwordAlgorithm: "SHA-256" });
  });

  it("USERHASH for a static user (§9.2.4, §14.4), MD5 and SHA-256", () => {
    const attributes: AttributeEntry[] = [
      { name: "USERHASH", value: computeUserhash("alice", REALM) },
      { name: "REALM", value: REALM },
      { name: "NONCE", value: freshNonce() },
    ];
    const sha = authenticated(request([...attributes, ...negotiated()], { key: sha256Key("alice", "wonderland"), algorithm: "sha256" }), ctx);
    expect(sha).toMatchObject({ username: "alice", integrity: "sha256", passwordAlgorithm: "SHA-256" });
    const md5 = authenticated(request(attributes, { key: md5Key("alice", "wonderland"), algorithm: "sha1" }), ctx);
    expect(md5).toMatchObject({ username: "alice", integrity: "sha1", passwordAlgorithm: "MD5" });
  });

  it("USERHASH of an unknown user or of a REST username -> 401", () => {
    for (const username of ["mallory", "1700000000:alice"]) {
      const message = request(
        [
          { name: "USERHASH", value: computeUserhash(username, REALM) },
          { name: "REALM", value: REALM },
          { name: "NONCE", value: freshNonce() },
        ],
        { key: md5Key(username, "g+jb180fcj+xlpA/2mP60OdIgU0="), algorithm: "sha1" },
      );
      expect(rejection(message).code).toBe(ErrorCode.Unauthenticated);
    }
  });

  it("a static user configured by hex MD5 key authenticates with MD5, not with SHA-256", () => {
    const key = md5Key("bob", "builder");
    expectAuthenticated(request(identity("bob"), { key, algorithm: "sha1" }), {
      username: "bob",
      key,
      integrity: "sha1",
      passwordAlgorithm: "MD5",
    });
    const sha = request([...identity("bob"), ...negotiated()], { key: sha256Key("bob", "builder"), algorithm: "sha256" });
    expect(rejection(sha).code).toBe(ErrorCode.Unauthenticated);
  });

  it("both MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256: the SHA-256 one decides", () => {
    const key = md5Key("alice", "wonderland");
    const withSha1 = request(identity("alice"), { key, algorithm: "sha1" }).raw;
    const both = decodeMessage(appendIntegritySha256(withSha1, key));
    // No password algorithm negotiated: processed as MD5, answered with MESSAGE-INTEGRITY.
    expect(authenticated(both, ctx)).toMatchObject({ username: "alice", integrity: "sha1" });
    const badSha256 = decodeMessage(appendIntegritySha256(withSha1, md5Key("alice", "wrong")));
    expect(rejection(badSha256).code).toBe(ErrorCode.Unauthenticated);
  });
});

describe("authenticate (RFC 8489 §9.2.4, §9.2.5): PASSWORD-ALGORITHMS bid-down protection -> 400", () => {
  const key = sha256Key("alice", "wonderland");

  it.each<[string, AttributeEntry[]]>([
    ["PASSWORD-ALGORITHMS stripped", [{ name: "PASSWORD-ALGORITHM", value: SHA256_ENTRY }]],
    ["PASSWORD-ALGORITHM stripped", [{ name: "PASSWORD-ALGORITHMS", value: offeredPasswordAlgorithms() }]],
    [
      "PASSWORD-ALGORITHMS narrowed to MD5",
      [
        { name: "PASSWORD-ALGORITHMS", value: [MD5_ENTRY] },
        { name: "PASSWORD-ALGORITHM", value: MD5_ENTRY },
      ],
    ],
    [
      "PASSWORD-ALGORITHMS reordered",
      [
        { name: "PASSWORD-ALGORITHMS", value: [SHA256_ENTRY, MD5_ENTRY] },
        { name: "PASSWORD-ALGORITHM", value: SHA256_ENTRY },
      ],
    ],
    [
      "PASSWORD-ALGORITHM not among them",
      [
        { name: "PASSWORD-ALGORITHMS", value: offeredPasswordAlgorithms() },
        { name: "PASSWORD-ALGORITHM", value: { algorithm: 0x0003, parameters: Buffer.alloc(0) } },
      ],
    ],
  ])("%s", (_, algorithmAttributes) => {
    const message = request([...identity("alice"), ...algorithmAttributes], { key, algorithm: "sha256" });
    const error = rejection(message);
    expect(error.code).toBe(ErrorCode.BadRequest);
    expect(error.attributes).toEqual([]);
  });

  it("without the feature bit in the nonce, PASSWORD-ALGORITHM alone selects the key", () => {
    const message = request(
      [...identity("alice", freshNonce(NOW, false)), { name: "PASSWORD-ALGORITHM", value: SHA256_ENTRY }],
      { key, algorithm: "sha256" },
    );
    expect(authenticated(message, ctx)).toMatchObject({ username: "alice", passwordAlgorithm: "SHA-256" });
  });

  it("an unknown PASSWORD-ALGORITHM or one with parameters -> 400", () => {
    for (const value of [
      { algorithm: 0x0003, parameters: Buffer.alloc(0) },
      { algorithm: PasswordAlgorithm.SHA256, parameters: Buffer.from([1, 2]) },
    ]) {
      const message = request([...identity("alice", freshNonce(NOW, false)), { name: "PASSWORD-ALGORITHM", value }], {
        key,
        algorithm: "sha256",
      });
      expect(rejection(message).code).toBe(ErrorCode.BadRequest);
    }
  });
});

describe("authenticate: published vectors", () => {
  // These nonces are not ours: a nonce service that accepts any nonce lets the rest of the path run.
  const acceptingNonces = { ...nonces, check: () => "valid" as const };
  const vectorContext: AuthContext = { ...ctx, nonces: acceptingNonces };

  it("RFC 8489 B.1 (errata form): USERHASH, PASSWORD-ALGORITHM SHA-256, MESSAGE-INTEGRITY-SHA256", () => {
    const sample = decodeMessage(
      hex(
        "000100902112a44278ad3433c6ad72c029da412e001e00204a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704001500296f624d61744a6f733241414143662f2f3439396b39353464364f4c33346f4c394653547679363473410000000014000b6578616d706c652e6f726700001d000400020000001c0020b5c7bf005b6c52a21c51c5e892f81924136296cb927c43149309278cc6518e65",
      ),
    );
    expectAuthenticated(
      sample,
      { username: MATRIX_USER, key: sha256Key(MATRIX_USER, "TheMatrIX"), integrity: "sha256", passwordAlgorithm: "SHA-256" },
      vectorContext,
    );
    // With the real nonce service its nonce is foreign: 438 and a nonce of ours.
    expect(rejection(sample).code).toBe(ErrorCode.StaleNonce);
  });

  it("RFC 5769 §2.4: USERNAME, MD5 key, MESSAGE-INTEGRITY (the RFC 5389 / browser shape)", () => {
    const sample = decodeMessage(
      hex(
        "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b900000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578616d706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666",
      ),
    );
    const result = authenticated(sample, vectorContext);
    expect(result).toMatchObject({ username: MATRIX_USER, integrity: "sha1", passwordAlgorithm: "MD5" });
    expect(keyHex(result.key)).toBe("e8ca7ad59d5eb0518e312911d2dab2a9");
  });
});

describe("assertSameUser (RFC 8656 §7.3, §7.4: 441 Wrong Credentials)", () => {
  const authenticated: Authenticated = { username: "alice", key: Buffer.alloc(16), integrity: "sha1", passwordAlgorithm: "MD5" };

  it("passes for the allocation's own user", () => {
    expect(() => assertSameUser("alice", authenticated)).not.toThrow();
  });

  it("throws 441 for another user", () => {
    let error: unknown;
    try {
      assertSameUser("bob", authenticated);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StunError);
    expect((error as StunError).code).toBe(ErrorCode.WrongCredentials);
  });
});

/** base64(HMAC-SHA1(secret, username)), computed independently of the module under test. */
function restPasswordOf(secret: string, username: string): string {
  return createHmac("sha1", secret).update(username).digest("base64");
}

/** Appends MESSAGE-INTEGRITY-SHA256 after the MESSAGE-INTEGRITY of an encoded message (RFC 8489 §14.6). */
function appendIntegritySha256(message: Buffer, key: Buffer): Buffer {
  const start = message.length;
  const out = Buffer.concat([message, Buffer.alloc(36)]);
  out.writeUInt16BE(0x001c, start);
  out.writeUInt16BE(32, start + 2);
  out.writeUInt16BE(out.length - 20, 2);
  writeMessageIntegrity("sha256", key, out, start, out.length, out, start + 4);
  return out;
}
