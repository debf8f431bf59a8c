// RFC 8489 §9.2.4: the long-term credential mechanism as a server applies it to each request.
import { getAttribute, hasAttribute, type AttributeEntry, type AttributeValues } from "../stun/attributes/registry.js";
import { ErrorCode, PasswordAlgorithm } from "../stun/constants.js";
import { verifyMessageIntegrity, verifyMessageIntegritySha256, type IntegrityKey } from "../stun/integrity.js";
import type { StunMessage } from "../stun/message.js";
import type { NonceService } from "./nonce.js";
import { CredentialRejected, StunError } from "./stun-error.js";

/** RFC 8489 §18.5: the hash a long-term key is derived with. */
export type LongTermKeyAlgorithm = "MD5" | "SHA-256";

/** What authentication needs from the credentials layer; `credentials/` implements it. */
export interface CredentialStore {
  /**
   * Candidate long-term keys for this username at nowMs (several when several secrets are configured); [] when unknown or expired.
   * KeyObjects where they can be: each key verifies the request and then signs the response.
   */
  keysFor(username: string, algorithm: LongTermKeyAlgorithm, nowMs: number, options?: { readonly acceptExpired?: boolean }): readonly IntegrityKey[];
  /** Whether a static user (user=) has this name: what a revocation of it lasts by. */
  isStaticUser(username: string): boolean;
  /** RFC 8489 §9.2.4 USERHASH -> username, for static users only (REST usernames cannot be reversed). */
  usernameForUserhash(userhash: Buffer): string | undefined;
  /**
   * RFC 8489 §9.2: whether challenges set the "Username anonymity" bit, which tells a client to send
   * USERHASH instead of USERNAME. Only when every username is a static user's: a REST username's
   * hash cannot be reversed, so a client told to hash it could never authenticate.
   */
  readonly offersUserhash: boolean;
}

export interface AuthContext {
  readonly realm: string;
  readonly nonces: NonceService;
  readonly credentials: CredentialStore;
  readonly nowMs: number;
  readonly clientAddress: string;
  readonly clientPort: number;
  /** A REST credential past its expiry still verifies (requests on an allocation it made; not strict-expiry). */
  readonly acceptExpired?: boolean;
}

export interface Authenticated {
  readonly username: string;
  /** The key that verified; the response's integrity uses it. */
  readonly key: IntegrityKey;
  /**
   * What every response to the request is signed with (RFC 8489 §9.2.4): MESSAGE-INTEGRITY-SHA256
   * once the request negotiated a password algorithm, else MESSAGE-INTEGRITY, whichever it used.
   */
  readonly integrity: "sha1" | "sha256";
  /** The hash the key was derived with (PASSWORD-ALGORITHM, MD5 when absent). */
  readonly passwordAlgorithm: LongTermKeyAlgorithm;
}

type PasswordAlgorithmList = AttributeValues["PASSWORD-ALGORITHMS"];

const NO_PARAMETERS = Buffer.alloc(0);
const OFFERED_PASSWORD_ALGORITHMS: PasswordAlgorithmList = Object.freeze([
  Object.freeze({ algorithm: PasswordAlgorithm.MD5, parameters: NO_PARAMETERS }),
  Object.freeze({ algorithm: PasswordAlgorithm.SHA256, parameters: NO_PARAMETERS }),
]) as unknown as PasswordAlgorithmList;

/** RFC 8489 §14.11: what every challenge offers, in this order. MD5 first: keys configured as MD5 hex have no SHA-256 form. */
export function offeredPasswordAlgorithms(): PasswordAlgorithmList {
  return OFFERED_PASSWORD_ALGORITHMS;
}

/**
 * REALM, a fresh NONCE for this client (with the "Password algorithms" feature bit, and "Username
 * anonymity" when the credentials offer it) and PASSWORD-ALGORITHMS.
 */
export function unauthenticatedChallenge(ctx: AuthContext): AttributeEntry[] {
  return [
    { name: "REALM", value: ctx.realm },
    { name: "NONCE", value: ctx.nonces.issue(ctx.clientAddress, ctx.clientPort, ctx.nowMs, true, ctx.credentials.offersUserhash) },
    { name: "PASSWORD-ALGORITHMS", value: offeredPasswordAlgorithms() },
  ];
}

const FULL_SHA256_MAC = 32;

/**
 * Returns who sent the request and with which key, or the StunError to answer with (400, 401 or
 * 438): returned rather than thrown, so every caller must check which it got. Every client's first
 * request is challenged, and a throw costs V8 a walk of the stack (2.5-4.4% of the server's CPU in
 * an allocation churn). Order: integrity present (401), attributes present and a whole SHA-256 MAC
 * (400), the nonce ours and issued to this client's address (438), password algorithm negotiation
 * (400), username known and integrity verified (401), and only then the nonce fresh (438). That is
 * RFC 8489 §9.2.4's order (a stale nonce with a wrong password is 401 at once, not 438 and a round
 * trip later), but for the nonce's MAC, checked first: without it, a request from a spoofed source
 * could make us derive keys and log a rejected credential in that source's name.
 */
export function authenticate(message: StunMessage, ctx: AuthContext): Authenticated | StunError {
  const hasIntegrity = hasAttribute(message, "MESSAGE-INTEGRITY");
  const hasIntegritySha256 = hasAttribute(message, "MESSAGE-INTEGRITY-SHA256");
  // RFC 8489 §9.2.4: no integrity -> 401 with REALM, NONCE and PASSWORD-ALGORITHMS.
  if (!hasIntegrity && !hasIntegritySha256) {
    return challenge(ErrorCode.Unauthenticated, "no MESSAGE-INTEGRITY", ctx);
  }

  const username = getAttribute(message, "USERNAME");
  const userhash = getAttribute(message, "USERHASH");
  const realm = getAttribute(message, "REALM");
  const nonce = getAttribute(message, "NONCE");
  // RFC 8489 §9.2.4: integrity without USERNAME or USERHASH, REALM or NONCE -> 400, no challenge.
  if ((username === undefined && userhash === undefined) || realm === undefined || nonce === undefined) {
    return new StunError(ErrorCode.BadRequest, "integrity without USERNAME/USERHASH, REALM or NONCE");
  }
  if (username !== undefined && userhash !== undefined) {
    return new StunError(ErrorCode.BadRequest, "both USERNAME and USERHASH");
  }
  // RFC 8489 §14.6: truncated only where the usage allows it, and RFC 8656 does not.
  if (hasIntegritySha256 && getAttribute(message, "MESSAGE-INTEGRITY-SHA256")!.length !== FULL_SHA256_MAC) {
    return new StunError(ErrorCode.BadRequest, "MESSAGE-INTEGRITY-SHA256 truncated");
  }

  const nonceState = ctx.nonces.check(nonce, ctx.clientAddress, ctx.clientPort, ctx.nowMs);
  if (nonceState === "invalid") return challenge(ErrorCode.StaleNonce, "invalid nonce", ctx);

  const passwordAlgorithm = selectPasswordAlgorithm(message, ctx.nonces.hasSecurityFeatures(nonce).passwordAlgorithms);
  if (passwordAlgorithm instanceof StunError) return passwordAlgorithm;

  // Keys are derived with our realm: a request for another realm cannot verify, so it is challenged.
  if (realm !== ctx.realm) return reject("REALM is not this server's", username, ctx);
  const name = username ?? (userhash === undefined ? undefined : ctx.credentials.usernameForUserhash(userhash));
  if (name === undefined) return reject("unknown USERHASH", username, ctx);

  const keys = ctx.credentials.keysFor(name, passwordAlgorithm, ctx.nowMs, { acceptExpired: ctx.acceptExpired === true });
  if (keys.length === 0) return reject("unknown or expired username", name, ctx);

  // RFC 8489 §9.2.4: with MESSAGE-INTEGRITY-SHA256 present, that is the one verified.
  const verify = hasIntegritySha256 ? verifyMessageIntegritySha256 : verifyMessageIntegrity;
  const key = keys.find((candidate) => verify(message, candidate));
  if (key === undefined) return reject("integrity check failed", name, ctx);

  if (nonceState === "stale") return challenge(ErrorCode.StaleNonce, "stale nonce", ctx);
  // RFC 8489 §9.2.4: responses carry MESSAGE-INTEGRITY-SHA256 unless the request was processed as MD5
  // for want of both PASSWORD-ALGORITHM and PASSWORD-ALGORITHMS; then MESSAGE-INTEGRITY, whichever the request used.
  const negotiated = hasAttribute(message, "PASSWORD-ALGORITHM") || hasAttribute(message, "PASSWORD-ALGORITHMS");
  return { username: name, key, integrity: negotiated ? "sha256" : "sha1", passwordAlgorithm };
}

/** RFC 8656 §7: a request on an existing allocation must come from the user that created it -> 441. */
export function assertSameUser(allocationUsername: string, authenticated: Authenticated): void {
  if (authenticated.username !== allocationUsername) {
    throw new StunError(ErrorCode.WrongCredentials, "the allocation belongs to another user");
  }
}

function challenge(code: ErrorCode, reason: string, ctx: AuthContext): StunError {
  return new StunError(code, reason, unauthenticatedChallenge(ctx));
}

/** 401 with a fresh challenge to a signed request whose credential we do not accept. */
function reject(reason: string, username: string | undefined, ctx: AuthContext): CredentialRejected {
  return new CredentialRejected(reason, unauthenticatedChallenge(ctx), username);
}

/**
 * RFC 8489 §9.2.4 password algorithm checks. Neither attribute -> MD5 (browsers, RFC 5389 clients).
 * When the nonce carries the "Password algorithms" bit, both must be present, PASSWORD-ALGORITHMS
 * exactly as we sent it and PASSWORD-ALGORITHM one of its entries (bid-down protection), else a 400
 * is returned.
 */
function selectPasswordAlgorithm(message: StunMessage, nonceHasPasswordAlgorithms: boolean): LongTermKeyAlgorithm | StunError {
  const chosen = getAttribute(message, "PASSWORD-ALGORITHM");
  const listed = getAttribute(message, "PASSWORD-ALGORITHMS");
  if (chosen === undefined && listed === undefined) return "MD5";

  if (nonceHasPasswordAlgorithms) {
    if (chosen === undefined || listed === undefined) {
      return new StunError(ErrorCode.BadRequest, "PASSWORD-ALGORITHM and PASSWORD-ALGORITHMS must come together");
    }
    if (!isSameList(listed, offeredPasswordAlgorithms())) {
      return new StunError(ErrorCode.BadRequest, "PASSWORD-ALGORITHMS differs from the one offered");
    }
  }
  if (chosen === undefined) return "MD5";
  if (listed !== undefined && !listed.some((entry) => isSameEntry(entry, chosen))) {
    return new StunError(ErrorCode.BadRequest, "PASSWORD-ALGORITHM is not among PASSWORD-ALGORITHMS");
  }
  // RFC 8489 §18.5.1: MD5 and SHA-256 take no parameters.
  if (chosen.parameters.length === 0 && chosen.algorithm === PasswordAlgorithm.MD5) return "MD5";
  if (chosen.parameters.length === 0 && chosen.algorithm === PasswordAlgorithm.SHA256) return "SHA-256";
  return new StunError(ErrorCode.BadRequest, `unsupported PASSWORD-ALGORITHM 0x${chosen.algorithm.toString(16)}`);
}

type PasswordAlgorithmEntry = PasswordAlgorithmList[number];

function isSameEntry(a: PasswordAlgorithmEntry, b: PasswordAlgorithmEntry): boolean {
  return a.algorithm === b.algorithm && a.parameters.equals(b.parameters);
}

function isSameList(a: PasswordAlgorithmList, b: PasswordAlgorithmList): boolean {
  return a.length === b.length && a.every((entry, i) => {
    const other = b[i];
    return other !== undefined && isSameEntry(entry, other);
  });
}
