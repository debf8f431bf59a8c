// What a credential or revoke request may carry, checked before anything is minted.
import type { ApiOptions } from "./api-deps.js";
import type { ParsedQuery } from "./query-string.js";

export type Checked<T> = { readonly value: T } | { readonly error: string };

/**
 * RFC 8489 §14.3: USERNAME is shorter than 509 bytes. A REST username is "<expiry>:<user>" with
 * an expiry of at most 10 digits, so the user part may take 509 - 1 - 11 = 497 bytes.
 */
export const MAX_USER_BYTES = 497;
/** RFC 8489 §14.3, for a username as minted (revocation). */
export const MAX_USERNAME_BYTES = 508;

// C0, DEL and C1 controls.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
// A surrogate on its own (from a JSON "\ud800" escape) is not text: it has no UTF-8 form.
const LONE_SURROGATE = /\p{Cs}/u;

/** The one value of query parameter `name`; an empty value counts as absent (as from an empty form field). */
export function readQueryParameter(query: ParsedQuery, name: string): Checked<string | undefined> {
  const values = query[name];
  if (values === undefined) return { value: undefined };
  if (values.length > 1) return { error: `${name} must be given once` };
  const value = values[0];
  if (value === null) return { error: `${name} must be percent-encoded UTF-8 text` };
  return { value: value === "" ? undefined : value };
}

/** The application's user id put after the expiry; optional, "" counts as absent. */
export function checkUser(value: unknown): Checked<string | undefined> {
  if (value === undefined || value === "") return { value: undefined };
  if (typeof value !== "string") return { error: "username must be a string" };
  if (value.includes(":")) return { error: "username must not contain ':'" };
  const problem = checkText(value, "username", MAX_USER_BYTES);
  return problem === undefined ? { value } : { error: problem };
}

/** A TURN username as minted ("<expiry>:<user>"), to revoke: required. */
export function checkMintedUsername(value: unknown): Checked<string> {
  if (value === undefined || value === "") return { error: "username is required" };
  if (typeof value !== "string") return { error: "username must be a string" };
  const problem = checkText(value, "username", MAX_USERNAME_BYTES);
  return problem === undefined ? { value } : { error: problem };
}

/** ttl from a query string: whole seconds, digits only. */
export function checkTtlText(text: string | undefined): Checked<number | undefined> {
  if (text === undefined) return { value: undefined };
  return /^[0-9]+$/.test(text) ? { value: Number(text) } : { error: "ttl must be a whole number of seconds" };
}

/** ttl from a JSON body: a non-negative integer. */
export function checkTtlNumber(value: unknown): Checked<number | undefined> {
  if (value === undefined) return { value: undefined };
  return typeof value === "number" && Number.isInteger(value) && value >= 0
    ? { value }
    : { error: "ttl must be a whole number of seconds" };
}

/** The default when absent, then within [1, maxTtlSeconds]. */
export function effectiveTtlSeconds(requested: number | undefined, options: ApiOptions): number {
  const ttl = requested ?? options.defaultTtlSeconds;
  return Math.max(1, Math.min(ttl, options.maxTtlSeconds));
}

function checkText(value: string, name: string, maxBytes: number): string | undefined {
  if (CONTROL_CHARACTER.test(value)) return `${name} must not contain control characters`;
  if (LONE_SURROGATE.test(value)) return `${name} is not valid UTF-8 text`;
  if (Buffer.byteLength(value, "utf8") > maxBytes) return `${name} must be at most ${maxBytes} bytes of UTF-8`;
  return undefined;
}
