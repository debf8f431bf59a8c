import { describe, expect, it } from "vitest";
import { SWEEP_RESOLUTION_MS, SweepSchedule } from "../../src/turn/sweep-schedule.js";

const T0 = 1_700_000_000_000; // a whole second, as the manual clock starts

describe("SweepSchedule", () => {
  it("returns an item in the grain of its time, not in the grain before", () => {
    const schedule = new SweepSchedule<string>();
    schedule.atLatest("a", T0 + 5_500);
    expect(schedule.takeDue(T0 + 4_999)).toEqual([]);
    // Within the grain of its time: taken up to a grain early, for its taker to look at and schedule again.
    expect(schedule.takeDue(T0 + 5_000)).toEqual(["a"]);
    expect(schedule.takeDue(T0 + 10_000)).toEqual([]);
    expect(schedule.size).toBe(0);
  });

  it("returns everything due, however late the call, and leaves what is not", () => {
    const schedule = new SweepSchedule<string>();
    schedule.atLatest("a", T0 + 1_000);
    schedule.atLatest("b", T0 + 300_000);
    schedule.atLatest("c", T0 + 600_000);
    expect(schedule.takeDue(T0 + 400_000).sort()).toEqual(["a", "b"]);
    expect(schedule.size).toBe(1);
    expect(schedule.takeDue(T0 + 600_000)).toEqual(["c"]);
  });

  it("moves an item to an earlier time, not to a later one, and returns it once", () => {
    const schedule = new SweepSchedule<string>();
    schedule.atLatest("a", T0 + 600_000);
    schedule.atLatest("a", T0 + 300_000);
    schedule.atLatest("a", T0 + 900_000);
    expect(schedule.takeDue(T0 + 299_000)).toEqual([]);
    expect(schedule.takeDue(T0 + 300_000)).toEqual(["a"]);
    // Its entry left at 600 s is skipped.
    expect(schedule.takeDue(T0 + 600_000)).toEqual([]);
  });

  it("returns an item once when it was scheduled again for a time it had held before", () => {
    const schedule = new SweepSchedule<string>();
    schedule.atLatest("a", T0 + 600_000);
    schedule.atLatest("a", T0 + 300_000);
    expect(schedule.takeDue(T0 + 300_000)).toEqual(["a"]);
    schedule.atLatest("a", T0 + 600_000);
    expect(schedule.takeDue(T0 + 600_000)).toEqual(["a"]);
  });

  it("never returns a forgotten item, and keeps nothing of it", () => {
    const schedule = new SweepSchedule<string>();
    schedule.atLatest("a", T0 + 1_000);
    schedule.atLatest("b", T0 + 600_000);
    schedule.forget("a");
    // Its second held only it: nothing is left there to keep it alive until then.
    expect(schedule.bucketCount).toBe(1);
    expect(schedule.takeDue(T0 + 2_000)).toEqual([]);
    schedule.forget("b");
    expect(schedule.bucketCount).toBe(0);
    expect(schedule.size).toBe(0);
  });

  it("keeps an item moved earlier in its new second only", () => {
    const schedule = new SweepSchedule<string>();
    schedule.atLatest("a", T0 + 600_000);
    schedule.atLatest("a", T0 + 300_000);
    expect(schedule.bucketCount).toBe(1);
    expect(schedule.takeDue(T0 + 300_000)).toEqual(["a"]);
    expect(schedule.bucketCount).toBe(0);
  });

  it("returns an item taken early and scheduled again for the same grain at the next call", () => {
    const schedule = new SweepSchedule<string>();
    schedule.atLatest("a", T0 + 1_700);
    expect(schedule.takeDue(T0 + 1_200)).toEqual(["a"]);
    schedule.atLatest("a", T0 + 1_700);
    expect(schedule.takeDue(T0 + 1_200 + SWEEP_RESOLUTION_MS)).toEqual(["a"]);
  });
});
