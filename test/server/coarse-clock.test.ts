import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createCoarseClock } from "../../src/server/coarse-clock.js";

describe("createCoarseClock: the relay thread's clock", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ["Date", "setInterval", "clearInterval"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reads Date.now once per resolution while asked, handing out the kept value between", () => {
    const now = vi.spyOn(Date, "now");
    const clock = createCoarseClock(4);
    expect(clock.now()).toBe(1_000_000);
    vi.setSystemTime(1_000_003);
    for (let i = 0; i < 100; i++) expect(clock.now()).toBe(1_000_000);
    expect(now).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(4);
    expect(clock.now()).toBe(1_000_007);
    expect(now).toHaveBeenCalledTimes(2);
    clock.stop();
  });

  it("is never more than one resolution behind while asked", () => {
    const clock = createCoarseClock(4);
    for (let ms = 0; ms < 1000; ms++) {
      expect(Date.now() - clock.now()).toBeLessThan(4);
      vi.advanceTimersByTime(1);
    }
    clock.stop();
  });

  it("stops its timer after a tick with no reads, and reads afresh when asked again", () => {
    const clock = createCoarseClock(4);
    clock.now();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(4);
    vi.advanceTimersByTime(4);
    expect(vi.getTimerCount(), "idle: no timer").toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(clock.now(), "not the value kept before the idle minute").toBe(Date.now());
    expect(vi.getTimerCount()).toBe(1);
    clock.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
