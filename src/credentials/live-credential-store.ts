import type { CredentialStore, LongTermKeyAlgorithm } from "../turn/authenticate.js";
import { DEFAULT_REST_SEPARATOR, parseRestUsername } from "./rest-credentials.js";
import { parseStaticUser } from "./static-users.js";

export interface ReplaceOptions {
  readonly restSeparator?: string;
  /** Whether a static user's user= entry changed or went in this reload: its revocation then ends. */
  readonly staticUserChanged?: (username: string) => boolean;
}

/**
 * The credential store the TURN core consults: the configured one (swapped whole on reload, so
 * allocations live on) minus revoked usernames. A revoked REST username is remembered only until
 * its own expiry, after which it is refused anyway; a static user until its entry changes or goes
 * (or the process restarts); any other name is not remembered, as it has nothing to revoke. So the
 * list stays bounded by live credentials.
 */
export interface LiveCredentialStore extends CredentialStore {
  replace(next: CredentialStore, options?: ReplaceOptions): void;
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
    isStaticUser(username: string) {
      return current.isStaticUser(username);
    },
    usernameForUserhash(userhash: Buffer) {
      return current.usernameForUserhash(userhash);
    },
    get offersUserhash() {
      return current.offersUserhash;
    },
    replace(next, options = {}) {
      current = next;
      if (options.restSeparator !== undefined) separator = options.restSeparator;
      if (options.staticUserChanged !== undefined) forgetChangedStaticUsers(revokedUntilMs, options.staticUserChanged);
    },
    revoke(username, nowMs) {
      const until = revokedUntil(username, separator, (name) => current.isStaticUser(name));
      if (until !== undefined && until > nowMs) revokedUntilMs.set(username, until);
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
 * refused anyway; a static user's has no end of its own (a reload that changes or removes the user
 * ends it); undefined for any other name, which no request can authenticate as.
 */
export function revokedUntil(username: string, restSeparator: string, isStaticUser: (username: string) => boolean): number | undefined {
  // A static user first: a name of digits alone (user=1001:pw) also reads as a REST username's expiry.
  if (isStaticUser(username)) return Number.POSITIVE_INFINITY;
  const rest = parseRestUsername(username, restSeparator);
  return rest ? rest.expiresAtSeconds * 1000 : undefined;
}

/** Ends the revocations (username -> until, as revokedUntil gives) of the static users whose entry changed or went. */
export function forgetChangedStaticUsers(revoked: Map<string, number>, changed: (username: string) => boolean): void {
  for (const [username, until] of revoked) if (until === Number.POSITIVE_INFINITY && changed(username)) revoked.delete(username);
}

/** The user= entries (already validated) by name. */
export function staticUserEntries(users: readonly string[]): ReadonlyMap<string, string> {
  return new Map(users.map((entry) => [parseStaticUser(entry).name, entry]));
}

/** For ReplaceOptions.staticUserChanged: whether a user's entry differs between two configurations' user= lists. */
export function staticUserChange(before: readonly string[], after: readonly string[]): (username: string) => boolean {
  const was = staticUserEntries(before);
  const is = staticUserEntries(after);
  return (username) => was.get(username) !== is.get(username);
}
