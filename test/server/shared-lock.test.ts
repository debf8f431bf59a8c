import { describe, expect, it } from "vitest";
import { SharedLock } from "../../src/server/shared-lock.js";

// Word 0 is the lock; words 1-3 the waiting flags of holders 1-3.
function lockFor(holders = 3): { lock: SharedLock; control: Int32Array } {
  const control = new Int32Array(new SharedArrayBuffer(4 * (1 + holders)));
  return { lock: new SharedLock(control, 0, 1, holders), control };
}

describe("SharedLock", () => {
  it("is held by one holder at a time, and free again on release", () => {
    const { lock, control } = lockFor();
    expect(lock.acquire(1, 0)).toBe(true);
    expect(Atomics.load(control, 0)).toBe(1);
    expect(lock.acquire(2, 0)).toBe(false);
    lock.release();
    expect(lock.acquire(2, 0)).toBe(true);
    expect(Atomics.load(control, 0)).toBe(2);
  });

  it("gives up after its timeout, its waiting flag cleared", () => {
    const { lock, control } = lockFor();
    expect(lock.acquire(1, 0)).toBe(true);
    const startedAt = performance.now();
    expect(lock.acquire(2, 30)).toBe(false);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(25);
    expect(Atomics.load(control, 2)).toBe(0);
  });

  it("forgets a holder: its lock is broken and its waiting flag cleared, another holder's lock is not", () => {
    const { lock, control } = lockFor();
    expect(lock.acquire(1, 0)).toBe(true);
    Atomics.store(control, 3, 1); // holder 3 died while waiting
    lock.forget(2);
    expect(Atomics.load(control, 0)).toBe(1);
    lock.forget(1);
    lock.forget(3);
    expect(Atomics.load(control, 0)).toBe(0);
    expect(Atomics.load(control, 3)).toBe(0);
    expect(lock.acquire(2, 0)).toBe(true);
  });
});
