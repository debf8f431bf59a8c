import { getHeapStatistics } from "node:v8";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  collectReducingMemory,
  createHeapTrimPolicy,
  startHeapTrim,
  TRIM_CHECK_INTERVAL_MS,
  TRIM_MIN_DROP,
  TRIM_MIN_INTERVAL_MS,
  TRIM_QUIET_ACTIVITY,
  type HeapSample,
} from "../../src/server/heap-trim.js";
import { createRecordingLogger } from "../helpers/logger.js";

afterEach(() => {
  vi.useRealTimers();
});

/** Feeds `samples` to a fresh policy, TRIM_MIN_INTERVAL_MS apart unless `stepMs` says otherwise; what it answered at each. */
function decide(samples: readonly HeapSample[], stepMs = TRIM_MIN_INTERVAL_MS): number[] {
  const trimDue = createHeapTrimPolicy();
  return samples.map((sample, i) => trimDue(sample, i * stepMs));
}

describe("heap trim policy: collect once most allocations have ended and the thread is quiet", () => {
  it("waits out a busy thread, collects at its first quiet check, and not again until more allocations come and go", () => {
    expect(
      decide([
        { allocations: 2000, activity: 10_000 },
        { allocations: 0, activity: 20_000 }, // the deletions are still coming
        { allocations: 0, activity: 20_000 + TRIM_QUIET_ACTIVITY }, // quiet
        { allocations: 0, activity: 20_000 + TRIM_QUIET_ACTIVITY },
        { allocations: 0, activity: 20_000 + TRIM_QUIET_ACTIVITY },
      ]),
    ).toEqual([0, 0, 2000, 0, 0]);
  });

  it("counts one more than TRIM_QUIET_ACTIVITY in a check as busy", () => {
    expect(
      decide([
        { allocations: 2000, activity: 0 },
        { allocations: 0, activity: TRIM_QUIET_ACTIVITY + 1 },
        { allocations: 0, activity: 2 * TRIM_QUIET_ACTIVITY + 2 },
        { allocations: 0, activity: 2 * TRIM_QUIET_ACTIVITY + 2 },
      ]),
    ).toEqual([0, 0, 0, 2000]);
  });

  it("never collects on its first check, which has nothing to compare the activity with", () => {
    expect(decide([{ allocations: 0, activity: 0 }])).toEqual([0]);
    const trimDue = createHeapTrimPolicy();
    trimDue({ allocations: 5000, activity: 0 }, 0);
    // Quiet and 5,000 ended: the second check may collect.
    expect(trimDue({ allocations: 0, activity: 0 }, TRIM_CHECK_INTERVAL_MS)).toBe(5000);
  });

  it("passes over fewer than TRIM_MIN_DROP ended allocations", () => {
    const below = TRIM_MIN_DROP - 1;
    expect(
      decide([
        { allocations: below, activity: 0 },
        { allocations: 0, activity: 0 },
      ]),
    ).toEqual([0, 0]);
    expect(
      decide([
        { allocations: TRIM_MIN_DROP, activity: 0 },
        { allocations: 0, activity: 0 },
      ]),
    ).toEqual([0, TRIM_MIN_DROP]);
  });

  it("waits while more than half of the most allocations held are live: the pause would walk more than it returns", () => {
    expect(
      decide([
        { allocations: 3000, activity: 0 },
        { allocations: 1501, activity: 0 }, // 1,499 ended, more than half live
        { allocations: 1500, activity: 0 },
      ]),
    ).toEqual([0, 0, 1500]);
  });

  it("measures the next drop from what was live at the last collection, and from new highs after it", () => {
    expect(
      decide([
        { allocations: 4000, activity: 0 },
        { allocations: 2000, activity: 0 }, // collects: 2,000 ended
        { allocations: 1200, activity: 0 }, // 800 more ended: below the minimum
        { allocations: 900, activity: 0 }, // 1,100 since the collection, 900 of 2,000 live
        { allocations: 3000, activity: 0 }, // a new high
        { allocations: 1600, activity: 0 }, // 1,400 ended, but more than half live
        { allocations: 1400, activity: 0 },
      ]),
    ).toEqual([0, 2000, 0, 1100, 0, 0, 1600]);
  });

  it("collects at most once in TRIM_MIN_INTERVAL_MS, and the ended allocations wait for it", () => {
    const trimDue = createHeapTrimPolicy();
    const at = (seconds: number, allocations: number): number => trimDue({ allocations, activity: 0 }, seconds * 1000);
    expect(at(0, 2000)).toBe(0);
    expect(at(1, 0)).toBe(2000);
    expect(at(2, 3000)).toBe(0);
    expect(at(3, 0)).toBe(0);
    expect(at(1 + TRIM_MIN_INTERVAL_MS / 1000 - 1, 0)).toBe(0);
    expect(at(1 + TRIM_MIN_INTERVAL_MS / 1000, 0)).toBe(3000);
  });
});

describe("startHeapTrim", () => {
  it("runs the collection when the policy says so, logs what ended and the pause, and counts it", () => {
    vi.useFakeTimers();
    const log = createRecordingLogger();
    const samples: HeapSample[] = [
      { allocations: 3000, activity: 0 },
      { allocations: 0, activity: 3000 },
      { allocations: 0, activity: 3000 },
      { allocations: 0, activity: 3000 },
    ];
    let collections = 0;
    const trim = startHeapTrim({ log, sample: () => samples.shift() ?? { allocations: 0, activity: 3000 }, collect: () => ++collections > 0 });
    vi.advanceTimersByTime(2 * TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(0);
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(1);
    vi.advanceTimersByTime(10 * TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(1);
    expect(trim.trims).toBe(1);
    const line = log.records.find((r) => r.msg === "heap trimmed after allocations ended");
    expect(line?.obj).toMatchObject({ allocations: 0, ended: 3000 });
    expect(typeof line?.obj["pauseMs"]).toBe("number");
    expect(line?.obj["rssMiB"]).toHaveLength(2);
    trim.stop();
  });

  it("stops checking, with a debug line, where V8 gives no gc function", () => {
    vi.useFakeTimers();
    const log = createRecordingLogger();
    let allocations = 5000;
    let sampled = 0;
    const trim = startHeapTrim({
      log,
      sample: () => {
        sampled++;
        const sample = { allocations, activity: 0 };
        allocations = 0;
        return sample;
      },
      collect: () => false,
    });
    vi.advanceTimersByTime(20 * TRIM_CHECK_INTERVAL_MS);
    expect(sampled).toBe(2);
    expect(trim.trims).toBe(0);
    expect(log.records.map((r) => [r.level, r.msg])).toEqual([["debug", "no V8 gc function: the memory of ended allocations stays with the process"]]);
    trim.stop();
  });

  it("stops on stop()", () => {
    vi.useFakeTimers();
    let sampled = 0;
    const trim = startHeapTrim({ log: createRecordingLogger(), sample: () => ({ allocations: 0, activity: sampled++ }), collect: () => true });
    vi.advanceTimersByTime(4 * TRIM_CHECK_INTERVAL_MS);
    trim.stop();
    vi.advanceTimersByTime(4 * TRIM_CHECK_INTERVAL_MS);
    expect(sampled).toBe(4);
  });
});

describe("collectReducingMemory", () => {
  it("gives back to the system the heap pages that garbage left sparse, which no other collection compacts", () => {
    // One object in twenty lives on: no page of the garbage is empty, so only compaction frees them.
    let all: object[] | undefined = Array.from({ length: 400_000 }, (_, i) => ({ i, s: `x${i}`, pair: [i, i + 1] }));
    const kept = all.filter((_, i) => i % 20 === 0);
    all = undefined;
    const before = getHeapStatistics().total_heap_size;
    expect(collectReducingMemory()).toBe(true);
    const after = getHeapStatistics().total_heap_size;
    expect(kept).toHaveLength(20_000);
    // The garbage took about 60 MiB here; at least 32 MiB of it must go.
    expect(before - after).toBeGreaterThan(32 * 1024 * 1024);
  });
});
