// Token buckets per client address and per API key: `perMinute` requests a minute, refilled
// continuously, burst = perMinute. Memory is bounded: past `maxTracked` subjects the least
// recently used bucket is forgotten (a forgotten subject starts again with a full bucket).

export const DEFAULT_MAX_TRACKED = 10_000;
const MS_PER_MINUTE = 60_000;

export interface RateLimiter {
  /** 0 when `subject` may make a request now, else how long until it may. Never records anything. */
  retryAfterMs(subject: string): number;
  /** Spends one request of `subject`'s allowance. */
  consume(subject: string): void;
  /** Subjects currently tracked (at most maxTracked). */
  readonly trackedCount: number;
}

export interface RateLimiterOptions {
  /** 0 turns the limiter off. */
  readonly perMinute: number;
  readonly now: () => number;
  readonly maxTracked?: number;
}

interface Bucket {
  /** Tokens scaled by MS_PER_MINUTE, so that refilling `perMinute` units per ms stays integer. */
  units: number;
  updatedAtMs: number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { perMinute, now } = options;
  const maxTracked = options.maxTracked ?? DEFAULT_MAX_TRACKED;
  const capacity = perMinute * MS_PER_MINUTE;
  // Insertion order is recency order: a touched bucket is moved to the end.
  const buckets = new Map<string, Bucket>();

  const refilled = (bucket: Bucket, nowMs: number): number =>
    Math.min(capacity, bucket.units + Math.max(0, nowMs - bucket.updatedAtMs) * perMinute);

  return {
    retryAfterMs(subject) {
      if (perMinute === 0) return 0;
      const bucket = buckets.get(subject);
      if (bucket === undefined) return 0;
      const units = refilled(bucket, now());
      return units >= MS_PER_MINUTE ? 0 : Math.ceil((MS_PER_MINUTE - units) / perMinute);
    },
    consume(subject) {
      if (perMinute === 0) return;
      const nowMs = now();
      const bucket = buckets.get(subject);
      const units = bucket === undefined ? capacity : refilled(bucket, nowMs);
      buckets.delete(subject);
      if (buckets.size >= maxTracked) {
        const oldest = buckets.keys().next();
        if (oldest.done !== true) buckets.delete(oldest.value);
      }
      buckets.set(subject, { units: Math.max(0, units - MS_PER_MINUTE), updatedAtMs: nowMs });
    },
    get trackedCount() {
      return buckets.size;
    },
  };
}

/** Whole seconds for a Retry-After header (RFC 9110 §10.2.3), at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
