// Who may mint or revoke: an API key (or anonymity, on loopback only), within the per-address
// and per-key allowances. Checked in that order so that a flood of wrong keys from one address
// is limited like any other request, and a 429 spends nothing.
import type { FastifyReply } from "fastify";
import { limitSubject } from "../transport/limit-subject.js";
import type { ApiKeyVerifier } from "./api-key-auth.js";
import { sendError } from "./http-errors.js";
import { isLoopbackAddress } from "./listening-address.js";
import { type RateLimiter, retryAfterSeconds } from "./rate-limiter.js";

export type AccessDecision =
  | { readonly allowed: true; /** Index of the key used; undefined when anonymous. */ readonly keyIndex: number | undefined }
  | { readonly allowed: false; readonly reason: "missing-key" | "invalid-key" }
  | { readonly allowed: false; readonly reason: "rate-limited"; readonly retryAfterMs: number };

export interface AccessGuard {
  /**
   * `presentedKey`: undefined when the request carries none. `hostname`: the Host header's name;
   * an anonymous request must name loopback there, or a web page whose name an attacker has
   * pointed at 127.0.0.1 (DNS rebinding) could mint credentials from the operator's browser.
   */
  check(clientAddress: string, presentedKey: string | undefined, hostname: string | undefined): AccessDecision;
}

export interface AccessGuardOptions {
  readonly verifier: ApiKeyVerifier;
  readonly allowAnonymous: boolean;
  readonly addressLimiter: RateLimiter;
  readonly keyLimiter: RateLimiter;
}

export function createAccessGuard(options: AccessGuardOptions): AccessGuard {
  const { verifier, allowAnonymous, addressLimiter, keyLimiter } = options;
  return {
    check(clientAddress, presentedKey, hostname) {
      const addressSubject = limitSubject(clientAddress);
      const addressWaitMs = addressLimiter.retryAfterMs(addressSubject);
      if (addressWaitMs > 0) return { allowed: false, reason: "rate-limited", retryAfterMs: addressWaitMs };

      if (presentedKey === undefined) {
        addressLimiter.consume(addressSubject);
        return allowAnonymous && isLoopbackHostname(hostname) ? { allowed: true, keyIndex: undefined } : { allowed: false, reason: "missing-key" };
      }
      // A key that is given is checked, even where anonymous requests are allowed.
      const keyIndex = verifier.match(presentedKey);
      if (keyIndex === undefined) {
        addressLimiter.consume(addressSubject);
        return { allowed: false, reason: "invalid-key" };
      }
      const keySubject = `key#${keyIndex}`;
      const keyWaitMs = keyLimiter.retryAfterMs(keySubject);
      if (keyWaitMs > 0) return { allowed: false, reason: "rate-limited", retryAfterMs: keyWaitMs };
      addressLimiter.consume(addressSubject);
      keyLimiter.consume(keySubject);
      return { allowed: true, keyIndex };
    },
  };
}

/** localhost, or a loopback address (IPv6 in brackets, as a Host header has it). */
export function isLoopbackHostname(hostname: string | undefined): boolean {
  if (hostname === undefined) return false;
  const name = hostname.toLowerCase().replace(/\.$/, "");
  if (name === "localhost") return true;
  return isLoopbackAddress(name.startsWith("[") && name.endsWith("]") ? name.slice(1, -1) : name);
}

/** 401 with a Bearer challenge (RFC 6750 §3) or 429 with Retry-After (RFC 6585 §4). */
export function sendDenied(reply: FastifyReply, decision: AccessDecision & { allowed: false }): FastifyReply {
  switch (decision.reason) {
    case "rate-limited":
      reply.header("retry-after", String(retryAfterSeconds(decision.retryAfterMs)));
      return sendError(reply, 429, "too many requests; retry later");
    case "missing-key":
      reply.header("www-authenticate", 'Bearer realm="turnpike"');
      return sendError(reply, 401, "an API key is required (Authorization: Bearer <key>)");
    case "invalid-key":
      reply.header("www-authenticate", 'Bearer realm="turnpike", error="invalid_token"');
      return sendError(reply, 401, "the API key is not valid");
  }
}
