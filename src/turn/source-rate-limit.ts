/**
 * Token buckets for answers to unauthenticated requests, per source IP, in fixed memory: the address
 * hashes to one of `buckets` slots, so a flood from any number of sources costs nothing more.
 * Addresses sharing a slot share its allowance (slightly stricter under a wide flood, never looser).
 */
export interface SourceRateLimit {
  /** Takes one token for `address`; false when its bucket is empty and the answer should be dropped. */
  take(address: string, nowMs: number): boolean;
  suppressed: number;
}

export interface SourceRateLimitOptions {
  /** Answers allowed at once: a page opening several peer connections, a few dozen test clients. */
  readonly burst: number;
  readonly perSecond: number;
  readonly buckets?: number;
}

export function createSourceRateLimit({ burst, perSecond, buckets = 4096 }: SourceRateLimitOptions): SourceRateLimit {
  const tokens = new Float64Array(buckets).fill(burst);
  const refilledAtMs = new Float64Array(buckets);
  const mask = buckets - 1;
  if ((buckets & mask) !== 0) throw new Error("buckets must be a power of two");
  const limit: SourceRateLimit = {
    suppressed: 0,
    take(address, nowMs) {
      const slot = hashAddress(address) & mask;
      const elapsed = nowMs - refilledAtMs[slot]!;
      refilledAtMs[slot] = nowMs;
      const available = Math.min(burst, tokens[slot]! + (elapsed > 0 ? (elapsed / 1000) * perSecond : 0));
      if (available < 1) {
        tokens[slot] = available;
        limit.suppressed++;
        return false;
      }
      tokens[slot] = available - 1;
      return true;
    },
  };
  return limit;
}

// FNV-1a over the address text: cheap, no allocation.
function hashAddress(address: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) {
    hash ^= address.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
