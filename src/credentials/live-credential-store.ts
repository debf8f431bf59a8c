import type { CredentialStore, LongTermKeyAlgorithm } from "../turn/authenticate.js";
import { DEFAULT_REST_SEPARATOR, parseRestUsername } from "./rest-credentials.js";

/**
 * The credential store the TURN core consults: the configured one (swapped whole on reload, so
 * allocations live on) minus revoked usernames. A revoked REST username is remembered only until
 * its own expiry, after which it is refused anyway, so the list stays bounded by live credentials.
 */
export interface LiveCredentialStore extends CredentialStore {
  replace(next: CredentialStore, restSeparator?: string): void;
  revoke(username: string, nowMs: number): void;
  isRevoked(username: string, nowMs: number): boolean;
  /** Forgets revocations whose credentials have expired; returns how many. */
  prune(nowMs: number): number;
  readonly revokedCount: number;
}

export function createLiveCredentialStore(initial: CredentialStore, restSeparator = DEFAULT_REST_SEPARATOR): LiveCredentialStore {
  let current = initial;
  let separator = restSeparator;
  const revokedUntilMs = new Map<string, number>();

  function isRevoked(username: string, nowMs: number): boolean {
    const until = revokedUntilMs.get(username);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    revokedUntilMs.delete(username);
    return false;
  }

  return {
    keysFor(username: string, algorithm: LongTermKeyAlgorithm, nowMs: number, options?: { readonly acceptExpired?: boolean }) {
      return isRevoked(username, nowMs) ? [] : current.keysFor(username, algorithm, nowMs, options);
    },
    usernameForUserhash(userhash: Buffer) {
      return current.usernameForUserhash(userhash);
    },
    get offersUserhash() {
      return current.offersUserhash;
    },
    replace(next, nextSeparator) {
      current = next;
      if (nextSeparator !== undefined) separator = nextSeparator;
    },
    revoke(username, nowMs) {
      const until = revokedUntil(username, separator);
      if (until > nowMs) revokedUntilMs.set(username, until);
    },
    isRevoked,
    prune(nowMs) {
      let pruned = 0;
      for (const [username, until] of revokedUntilMs) {
        if (until > nowMs) continue;
        revokedUntilMs.delete(username);
        pruned++;
      }
      return pruned;
    },
    get revokedCount() {
      return revokedUntilMs.size;
    },
  };
}

/**
 * Until when a revocation of `username` matters: a REST username's own expiry, after which it is
 * refused anyway; a static user's stays until the process restarts or the user is removed.
 */
export function revokedUntil(username: string, restSeparator: string): number {
  const rest = parseRestUsername(username, restSeparator);
  return rest ? rest.expiresAtSeconds * 1000 : Number.POSITIVE_INFINITY;
}
