// Who may mint, revoke or drain: an API key (or anonymity, on loopback only and not from a web
// page on another site), within the per-address and per-key allowances. Checked in that order so
// that a flood of wrong keys from one address is limited like any other request, and a 429 spends
// nothing.
import type { FastifyReply } from "fastify";
import { limitSubject } from "../transport/limit-subject.js";
import type { ApiKeyVerifier } from "./api-key-auth.js";
import { type BrowserOriginHeaders, isCrossSiteRequest } from "./cross-site.js";
import { sendError } from "./http-errors.js";
import { isLoopbackAddress } from "./listening-address.js";
import { type RateLimiter, retryAfterSeconds } from "./rate-limiter.js";

export type AccessDecision =
  | { readonly allowed: true; /** Index of the key used; undefined when anonymous. */ readonly keyIndex: number | undefined }
  | { readonly allowed: false; readonly reason: "missing-key" | "invalid-key" | "cross-site" }
  | { readonly allowed: false; readonly reason: "rate-limited"; readonly retryAfterMs: number };

/** What the guard reads of a request besides its key (a FastifyRequest is one). */
export interface GuardedRequest {
  /** The client's address, for the per-address allowance. */
  readonly ip: string;
  /** The Host header's name. */
  readonly hostname: string | undefined;
  readonly headers: BrowserOriginHeaders;
}

export interface AccessGuard {
  /**
   * `presentedKey`: undefined when the request carries none. An anonymous request must name
   * loopback in its Host header, or a web page whose name an attacker has pointed at 127.0.0.1
   * (DNS rebinding) could act from the operator's browser; and it must not come from a page on
   * another site (cross-site request forgery: a no-cors POST needs no preflight).
   */
  check(request: GuardedRequest, presentedKey: string | undefined): AccessDecision;
}

export interface AccessGuardOptions {
  readonly verifier: ApiKeyVerifier;
  readonly allowAnonymous: boolean;
  /** api-cors-origin: the web origins whose pages may send anonymous requests. */
  readonly corsOrigins: readonly string[];
  readonly addressLimiter: RateLimiter;
  readonly keyLimiter: RateLimiter;
}

export function createAccessGuard(options: AccessGuardOptions): AccessGuard {
  const { verifier, allowAnonymous, addressLimiter, keyLimiter } = options;
  const allowedOrigins = new Set(options.corsOrigins);
  return {
    check(request, presentedKey) {
      const addressSubject = limitSubject(request.ip);
      const addressWaitMs = addressLimiter.retryAfterMs(addressSubject);
      if (addressWaitMs > 0) return { allowed: false, reason: "rate-limited", retryAfterMs: addressWaitMs };

      if (presentedKey === undefined) {
        addressLimiter.consume(addressSubject);
        if (!allowAnonymous || !isLoopbackHostname(request.hostname)) return { allowed: false, reason: "missing-key" };
        if (isCrossSiteRequest(request.headers, allowedOrigins)) return { allowed: false, reason: "cross-site" };
        return { allowed: true, keyIndex: undefined };
      }
      // A key that is given is checked, even where anonymous requests are allowed.
      const keyIndex = verifier.match(presentedKey);
      if (keyIndex === undefined) {
        addressLimiter.consume(addressSubject);
        return { allowed: false, reason: "invalid-key" };
      }
      const keySubject = verifier.subjectOf(keyIndex);
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

/** 401 with a Bearer challenge (RFC 6750 §3), 403, or 429 with Retry-After (RFC 6585 §4). */
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
    case "cross-site":
      return sendError(
        reply,
        403,
        "anonymous requests from a web page on another site are refused; list its origin in api-cors-origin, or send an API key",
      );
  }
}
