/**
 * Drops the names past their expiry from `untilByName` (name -> until, ms) when asked outright
 * (`now`), and otherwise only once the map has doubled since the last drop, so that a list fed by
 * every node's revocations stays bounded by the live ones at little cost per addition.
 */
export interface ExpiryPruner {
  /** After an addition: prunes if the map has doubled since the last prune. */
  added(): void;
  now(): void;
}

const PRUNE_MIN_SIZE = 1024;

export function expiryPruner(untilByName: Map<string, number>, now: () => number): ExpiryPruner {
  let pruneAtSize = PRUNE_MIN_SIZE;
  const prune = (): void => {
    const at = now();
    for (const [name, until] of untilByName) if (until <= at) untilByName.delete(name);
    pruneAtSize = Math.max(PRUNE_MIN_SIZE, untilByName.size * 2);
  };
  return {
    added() {
      if (untilByName.size >= pruneAtSize) prune();
    },
    now: prune,
  };
}

/** The shared revocations this node has applied (or made), each until its credential expires. */
export interface KnownRevocations {
  /** Remembers `username` until `untilMs`; false when it was known already. */
  note(username: string, untilMs: number): boolean;
  readonly size: number;
}

/** Every reconnection to Redis reads all the revocations in force: those known are not applied again. */
export function knownRevocations(now: () => number): KnownRevocations {
  const untilByName = new Map<string, number>();
  const pruner = expiryPruner(untilByName, now);
  return {
    note(username, untilMs) {
      if (untilByName.has(username)) return false;
      untilByName.set(username, untilMs);
      pruner.added();
      return true;
    },
    get size() {
      return untilByName.size;
    },
  };
}
