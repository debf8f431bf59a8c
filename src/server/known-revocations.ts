/** The shared revocations this node has applied (or made), each until its credential expires. */
export interface KnownRevocations {
  /** Remembers `username` until `untilMs`; false when it was known already. */
  note(username: string, untilMs: number): boolean;
  readonly size: number;
}

const PRUNE_MIN_SIZE = 1024;

/** Every reconnection to Redis reads all the revocations in force: those known are not applied again. */
export function knownRevocations(now: () => number): KnownRevocations {
  const untilByName = new Map<string, number>();
  // Expired names are dropped whenever the list has doubled since the last drop.
  let pruneAtSize = PRUNE_MIN_SIZE;
  return {
    note(username, untilMs) {
      if (untilByName.has(username)) return false;
      untilByName.set(username, untilMs);
      if (untilByName.size >= pruneAtSize) {
        const at = now();
        for (const [name, until] of untilByName) if (until <= at) untilByName.delete(name);
        pruneAtSize = Math.max(PRUNE_MIN_SIZE, untilByName.size * 2);
      }
      return true;
    },
    get size() {
      return untilByName.size;
    },
  };
}
