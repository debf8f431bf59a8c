// Time-limited TURN REST credentials (draft-uberti-behave-turn-rest-00 §2.2, coturn's use-auth-secret):
// username = "<expiry>:<user>", password = base64(HMAC-SHA1(shared secret, username)).
import type { KeyObject } from "node:crypto";
import { hmac } from "../stun/hmac.js";

export const DEFAULT_REST_SEPARATOR = ":";

export interface MintRestCredentialOptions {
  /** The shared secret (coturn's static-auth-secret). */
  readonly secret: string;
  /** Application user id; omitted, the username is the expiry alone. */
  readonly user?: string;
  readonly ttlSeconds: number;
  readonly nowMs: number;
  /** coturn's rest-api-separator. */
  readonly separator?: string;
}

export interface RestCredential {
  readonly username: string;
  readonly password: string;
  readonly ttlSeconds: number;
  /** The credential is usable strictly before this instant. */
  readonly expiresAtMs: number;
}

export interface RestUsername {
  readonly expiresAtSeconds: number;
  /** "" when the username is the expiry alone. */
  readonly user: string;
}

export function mintRestCredential(options: MintRestCredentialOptions): RestCredential {
  const { secret, user, ttlSeconds, nowMs } = options;
  const separator = options.separator ?? DEFAULT_REST_SEPARATOR;
  if (secret.length === 0) throw new RangeError("REST secret must not be empty");
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
  if (!Number.isFinite(nowMs) || nowMs < 0) throw new RangeError(`nowMs must be a time, got ${nowMs}`);
  if (separator.length === 0) throw new RangeError("REST separator must not be empty");

  const expiresAtSeconds = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = user === undefined ? String(expiresAtSeconds) : `${expiresAtSeconds}${separator}${user}`;
  return { username, password: restPassword(secret, username), ttlSeconds, expiresAtMs: expiresAtSeconds * 1000 };
}

/**
 * base64(HMAC-SHA1(secret, username)): the password a REST username is valid with. A secret checked
 * on every request is best passed as a KeyObject of its UTF-8 bytes (its HMAC key blocks are kept).
 */
export function restPassword(secret: string | KeyObject, username: string): string {
  return hmac("sha1", typeof secret === "string" ? Buffer.from(secret, "utf8") : secret, username).toString("base64");
}

// Decimal seconds since the epoch: no sign, no fraction, no leading zero, at most 11 digits (year 5138).
const UNIX_SECONDS = /^(?:0|[1-9][0-9]{0,10})$/;

function parseUnixSeconds(text: string): number | undefined {
  return UNIX_SECONDS.test(text) ? Number(text) : undefined;
}

/**
 * Reads the expiry out of a REST username: "<expiry>:<user>", "<expiry>" alone, or coturn's
 * alternative "<user>:<expiry>". The numeric side decides; when both sides are numeric the
 * standard order (expiry first) wins. Undefined when no side is a plausible Unix timestamp.
 */
export function parseRestUsername(username: string, separator = DEFAULT_REST_SEPARATOR): RestUsername | undefined {
  if (separator.length === 0) return undefined;
  const whole = parseUnixSeconds(username);
  if (whole !== undefined) return { expiresAtSeconds: whole, user: "" };

  const first = username.indexOf(separator);
  if (first === -1) return undefined;
  const leading = parseUnixSeconds(username.slice(0, first));
  if (leading !== undefined) return { expiresAtSeconds: leading, user: username.slice(first + separator.length) };

  const last = username.lastIndexOf(separator);
  const trailing = parseUnixSeconds(username.slice(last + separator.length));
  if (trailing !== undefined) return { expiresAtSeconds: trailing, user: username.slice(0, last) };
  return undefined;
}
