import { describe, expect, it } from "vitest";
import { createRateLimiter, retryAfterSeconds } from "../../src/api/rate-limiter.js";
import { ManualClock } from "../helpers/manual-clock.js";

describe("token bucket rate limiter", () => {
  it("bursts perMinute requests, then refills one every 60/perMinute seconds, continuously", () => {
    const clock = new ManualClock();
    const limiter = createRateLimiter({ perMinute: 6, now: () => clock.now() });
    for (let i = 0; i < 6; i++) {
      expect(limiter.retryAfterMs("a")).toBe(0);
      limiter.consume("a");
    }
    expect(limiter.retryAfterMs("a")).toBe(10_000);
    clock.advance(4_000);
    expect(limiter.retryAfterMs("a")).toBe(6_000);
    clock.advance(6_000);
    expect(limiter.retryAfterMs("a")).toBe(0);
    limiter.consume("a");
    expect(limiter.retryAfterMs("a")).toBe(10_000);
    // Never more than the burst, however long the wait.
    clock.advance(3_600_000);
    for (let i = 0; i < 6; i++) limiter.consume("a");
    expect(limiter.retryAfterMs("a")).toBeGreaterThan(0);
  });

  it("keeps subjects apart; asking records nothing", () => {
    const clock = new ManualClock();
    const limiter = createRateLimiter({ perMinute: 1, now: () => clock.now() });
    limiter.consume("a");
    expect(limiter.retryAfterMs("a")).toBe(60_000);
    expect(limiter.retryAfterMs("b")).toBe(0);
    expect(limiter.trackedCount).toBe(1);
  });

  it("a flood from many subjects stays within maxTracked, forgetting the least recently used", () => {
    const clock = new ManualClock();
    const limiter = createRateLimiter({ perMinute: 1, now: () => clock.now(), maxTracked: 100 });
    limiter.consume("kept");
    for (let i = 0; i < 10_000; i++) {
      limiter.consume(`flood-${i}`);
      if (i % 50 === 0) limiter.consume("kept"); // recently used: never the oldest
    }
    expect(limiter.trackedCount).toBe(100);
    expect(limiter.retryAfterMs("kept")).toBeGreaterThan(0);
    expect(limiter.retryAfterMs("flood-0")).toBe(0);
    expect(limiter.retryAfterMs("flood-9999")).toBeGreaterThan(0);
  });

  it("perMinute 0 limits nothing and tracks nothing", () => {
    const limiter = createRateLimiter({ perMinute: 0, now: () => 0 });
    for (let i = 0; i < 10; i++) limiter.consume("a");
    expect(limiter.retryAfterMs("a")).toBe(0);
    expect(limiter.trackedCount).toBe(0);
  });

  it.each([
    [1, 1],
    [999, 1],
    [1000, 1],
    [1001, 2],
    [20_000, 20],
  ])("Retry-After for %i ms is %i s (RFC 9110 §10.2.3: whole seconds)", (ms, seconds) => {
    expect(retryAfterSeconds(ms)).toBe(seconds);
  });
});
