// Stateless nonces (RFC 8489 §9.2): everything needed to check a nonce travels in it, under a MAC,
// so answering an unauthenticated flood with 401s stores nothing.
import { createSecretKey, timingSafeEqual } from "node:crypto";
import { hmacInto } from "../stun/hmac.js";

/** RFC 8489 §9.2: the nonce cookie prefix; 4 base64 characters of security features follow it. */
export const NONCE_COOKIE = "obMatJos2";

// RFC 8489 §18.1 STUN Security Features, bits numbered from the least significant (erratum 6290;
// the errata form of Appendix B.1 sends "AAAC", username anonymity alone).
const PASSWORD_ALGORITHMS_BIT = 1 << 0;
const USERNAME_ANONYMITY_BIT = 1 << 1;

const FEATURES_LENGTH = 4; // 24 bits in base64
const TIMESTAMP_BYTES = 6; // milliseconds since the epoch, 48 bits
const MAC_BYTES = 12; // HMAC-SHA256 truncated to 96 bits
const TIMESTAMP_LENGTH = (TIMESTAMP_BYTES / 3) * 4;
const MAC_LENGTH = (MAC_BYTES / 3) * 4;
const SIGNED_LENGTH = NONCE_COOKIE.length + FEATURES_LENGTH + TIMESTAMP_LENGTH;
/** 37 characters: well under the 128 of RFC 8489 §14.10, and nothing that needs escaping. */
export const NONCE_LENGTH = SIGNED_LENGTH + MAC_LENGTH;

const FEATURES_TEXT = /^[A-Za-z0-9+/]{4}$/;
const NONCE_TEXT = new RegExp(`^${NONCE_COOKIE}[A-Za-z0-9+/]{${FEATURES_LENGTH}}[A-Za-z0-9_-]{${TIMESTAMP_LENGTH + MAC_LENGTH}}$`);
const MIN_SECRET_BYTES = 16;
// Decoded time and MAC of the nonce being checked, and the time of the one being issued; every call is synchronous.
const timeBytes = Buffer.alloc(TIMESTAMP_BYTES);
const macBytes = Buffer.alloc(MAC_BYTES);
// The full HMAC-SHA256; its first MAC_BYTES are the nonce's MAC.
const fullMac = Buffer.alloc(32);

export type NonceCheck = "valid" | "stale" | "invalid";

export interface SecurityFeatures {
  readonly passwordAlgorithms: boolean;
  readonly userhash: boolean;
}

export interface NonceService {
  /** A nonce for this client's source address and port, issued at `nowMs`, with these security feature bits. */
  issue(clientAddress: string, clientPort: number, nowMs: number, passwordAlgorithms: boolean, userhash?: boolean): string;
  /** "invalid" when malformed or minted for another client or secret; "stale" when too old. */
  check(nonce: string, clientAddress: string, clientPort: number, nowMs: number): NonceCheck;
  /** The security features of a nonce cookie (any nonce, ours or not); none without a cookie. */
  hasSecurityFeatures(nonce: string): SecurityFeatures;
}

export interface NonceServiceOptions {
  /** At least 16 bytes; processes that share it accept each other's nonces. */
  readonly secret: Buffer;
  /** A nonce is stale when older than this; 600 by default. */
  readonly staleNonceSeconds?: number;
}

/**
 * Nonce = cookie "obMatJos2" + features (4 base64 chars) + issue time (8 base64url chars, ms)
 * + HMAC-SHA256(secret, cookie | time | client IP | client port) truncated (16 base64url chars).
 */
export function createNonceService(options: NonceServiceOptions): NonceService {
  const { secret } = options;
  const staleNonceSeconds = options.staleNonceSeconds ?? 600;
  if (secret.length < MIN_SECRET_BYTES) throw new RangeError(`nonce secret must be at least ${MIN_SECRET_BYTES} bytes`);
  if (!Number.isSafeInteger(staleNonceSeconds) || staleNonceSeconds <= 0) {
    throw new RangeError(`staleNonceSeconds must be a positive integer, got ${staleNonceSeconds}`);
  }
  const staleMs = staleNonceSeconds * 1000;
  const macKey = createSecretKey(secret);

  /** The MAC into `fullMac`'s first MAC_BYTES bytes. */
  function computeMac(signed: string, clientAddress: string, clientPort: number): void {
    // `signed` is base64 text: its UTF-8 and Latin-1 bytes are the same.
    hmacInto("sha256", macKey, `${signed}\0${clientAddress.toLowerCase()}\0${clientPort}`, fullMac, 0);
  }

  return {
    issue(clientAddress, clientPort, nowMs, passwordAlgorithms, userhash = false) {
      timeBytes.writeUIntBE(Math.max(0, Math.floor(nowMs)), 0, TIMESTAMP_BYTES);
      const features = FEATURES_TEXTS[(passwordAlgorithms ? PASSWORD_ALGORITHMS_BIT : 0) | (userhash ? USERNAME_ANONYMITY_BIT : 0)]!;
      const signed = NONCE_COOKIE + features + timeBytes.toString("base64url");
      computeMac(signed, clientAddress, clientPort);
      return signed + fullMac.toString("base64url", 0, MAC_BYTES);
    },

    check(nonce, clientAddress, clientPort, nowMs) {
      if (nonce.length !== NONCE_LENGTH || !NONCE_TEXT.test(nonce)) return "invalid";
      // The characters are base64url (checked above): each group of 4 decodes to 3 bytes, exactly.
      macBytes.write(nonce.slice(SIGNED_LENGTH), "base64url");
      computeMac(nonce.slice(0, SIGNED_LENGTH), clientAddress, clientPort);
      if (!timingSafeEqual(macBytes, fullMac.subarray(0, MAC_BYTES))) return "invalid";

      timeBytes.write(nonce.slice(SIGNED_LENGTH - TIMESTAMP_LENGTH, SIGNED_LENGTH), "base64url");
      const issuedAtMs = timeBytes.readUIntBE(0, TIMESTAMP_BYTES);
      const ageMs = nowMs - issuedAtMs;
      // A nonce from the future means the clock stepped back; the same window applies.
      return ageMs > staleMs || ageMs < -staleMs ? "stale" : "valid";
    },

    hasSecurityFeatures(nonce) {
      const features = decodeFeatures(nonce);
      return SECURITY_FEATURES[features & (PASSWORD_ALGORITHMS_BIT | USERNAME_ANONYMITY_BIT)]!;
    },
  };
}

function encodeFeatures(features: number): string {
  const bytes = Buffer.alloc(3);
  bytes.writeUIntBE(features, 0, 3);
  return bytes.toString("base64");
}

// By the two feature bits we know.
const FEATURES_TEXTS: readonly string[] = [0, 1, 2, 3].map(encodeFeatures);
const SECURITY_FEATURES: readonly SecurityFeatures[] = [0, 1, 2, 3].map((bits) =>
  Object.freeze({ passwordAlgorithms: (bits & PASSWORD_ALGORITHMS_BIT) !== 0, userhash: (bits & USERNAME_ANONYMITY_BIT) !== 0 }),
);

function decodeFeatures(nonce: string): number {
  if (!nonce.startsWith(NONCE_COOKIE)) return 0;
  const text = nonce.slice(NONCE_COOKIE.length, NONCE_COOKIE.length + FEATURES_LENGTH);
  return FEATURES_TEXT.test(text) ? Buffer.from(text, "base64").readUIntBE(0, 3) : 0;
}
