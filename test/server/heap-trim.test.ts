import { getHeapStatistics } from "node:v8";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  collectReducingMemory,
  createHeapTrimPolicy,
  heapHeldBytes,
  exposeGc,
  startHeapTrim,
  TRIM_CHECK_INTERVAL_MS,
  TRIM_GROWTH_MAX_LIVE,
  TRIM_IDLE_ACTIVITY,
  TRIM_MAX_MAIN_HEAP_BYTES,
  TRIM_MAX_LIVE,
  TRIM_MIN_DROP,
  TRIM_MIN_HEAP_GROWTH_BYTES,
  TRIM_MIN_INTERVAL_MS,
  TRIM_QUIET_ACTIVITY,
  TRIM_QUIET_CHECKS,
  TRIMMED_AFTER_ENDED,
  TRIMMED_AFTER_GROWTH,
  TRIMMED_AFTER_RELAYS,
  type HeapSample,
  type TrimDue,
} from "../../src/server/heap-trim.js";
import { createRecordingLogger } from "../helpers/logger.js";

afterEach(() => {
  vi.useRealTimers();
});

/** A check's view of a thread: what it holds, its activity total, and how many allocations were made and ended since the last check. */
interface Level {
  readonly allocations: number;
  readonly activity: number;
  readonly unseen?: number;
}

/** Turns levels into samples, one after the other: `ended` counts every drop in the allocations held, and the unseen. */
function sampler(): (level: Level) => HeapSample {
  let held = 0;
  let ended = 0;
  return ({ allocations, activity, unseen = 0 }) => {
    ended += Math.max(0, held - allocations) + unseen;
    held = allocations;
    return { allocations, activity, ended };
  };
}

function samplesOf(levels: readonly Level[]): HeapSample[] {
  return levels.map(sampler());
}

/** How many allocations ended when a collection is due for them, 0 when none is due (-1: due for another reason). */
function endedOf(due: TrimDue | undefined): number {
  return due === undefined ? 0 : due.reason === "allocations ended" ? due.ended : -1;
}

/** Feeds `levels` to a fresh policy, TRIM_MIN_INTERVAL_MS apart unless `stepMs` says otherwise; what it answered at each. */
function decide(levels: readonly Level[], stepMs = TRIM_MIN_INTERVAL_MS): number[] {
  const whenDue = createHeapTrimPolicy();
  return samplesOf(levels).map((sample, i) => endedOf(whenDue(sample, i * stepMs)));
}

/** A watch that hands out `samples` one per check, and the last one ever after. */
function watching(samples: readonly HeapSample[]): { readonly sample: () => HeapSample; readonly sampled: () => number } {
  let sampled = 0;
  return {
    sample: () => samples[Math.min(sampled++, samples.length - 1)]!,
    sampled: () => sampled,
  };
}

/** Each level held, with no activity, for one check more than TRIM_QUIET_CHECKS: what the policy answered at each level's last check (and 0 at every other). */
function decideLevels(levels: readonly number[]): number[] {
  const checks = TRIM_QUIET_CHECKS + 1;
  const answers = decide(levels.flatMap((allocations) => Array.from({ length: checks }, () => ({ allocations, activity: 0 }))));
  expect(answers.filter((_, i) => i % checks !== checks - 1).every((answer) => answer === 0)).toBe(true);
  return answers.filter((_, i) => i % checks === checks - 1);
}

const idle = (allocations: number, activity = 0): Level => ({ allocations, activity });

describe("heap trim policy: collect once most allocations have ended and the thread is quiet", () => {
  it("waits out a busy thread, collects after TRIM_QUIET_CHECKS quiet checks, and not again until more allocations come and go", () => {
    expect(TRIM_QUIET_CHECKS).toBe(2);
    expect(decide([idle(2000, 10_000), idle(0, 20_000), idle(0, 20_000), idle(0, 20_000), idle(0, 20_000), idle(0, 20_000)])).toEqual([0, 0, 0, 2000, 0, 0]);
  });

  it("takes a check in which an allocation was made or ended as busy, however little else happened", () => {
    expect(decide([idle(2000), idle(1000), idle(0), idle(0), idle(0)])).toEqual([0, 0, 0, 0, 2000]);
  });

  it("takes one more than TRIM_QUIET_ACTIVITY in a check as busy, and TRIM_QUIET_ACTIVITY as quiet", () => {
    const q = TRIM_QUIET_ACTIVITY;
    expect(decide([idle(2000), idle(0), idle(0, q + 1), idle(0, q + 1), idle(0, 2 * q + 1)])).toEqual([0, 0, 0, 0, 2000]);
  });

  it("takes activity that went backwards as busy", () => {
    expect(decide([idle(2000, 100), idle(0, 100), idle(0, 50), idle(0, 50), idle(0, 50)])).toEqual([0, 0, 0, 0, 2000]);
  });

  it("never collects on its first check, which has nothing to compare with", () => {
    expect(decide([idle(0)])).toEqual([0]);
  });

  it("passes over fewer than TRIM_MIN_DROP ended allocations", () => {
    expect(decideLevels([TRIM_MIN_DROP - 1, 0])).toEqual([0, 0]);
    expect(decideLevels([TRIM_MIN_DROP, 0])).toEqual([0, TRIM_MIN_DROP]);
  });

  it("waits while more than half of the most allocations held are live: the pause would walk more than it returns", () => {
    expect(decideLevels([3000, 1501, 1500])).toEqual([0, 0, 1500]);
  });

  it("waits while more than TRIM_MAX_LIVE allocations are live, whatever ended: the pause grows with them", () => {
    expect(decideLevels([3 * TRIM_MAX_LIVE, TRIM_MAX_LIVE + 1, TRIM_MAX_LIVE])).toEqual([0, 0, 2 * TRIM_MAX_LIVE]);
  });

  it("measures the next drop from what was live at the last collection, and from new highs after it", () => {
    // 4,000 -> 2,000: collects. 1,200: 800 more ended, below the minimum. 900: 1,100 since, 900 of
    // 2,000 live. 3,000: a new high. 1,600: 1,400 ended, but more than half live. 1,400: collects.
    expect(decideLevels([4000, 2000, 1200, 900, 3000, 1600, 1400])).toEqual([0, 2000, 0, 1100, 0, 0, 1600]);
  });

  it("counts allocations made and ended between two checks, which no sample of the count sees", () => {
    expect(decide([idle(0), { allocations: 0, activity: 2 * TRIM_MIN_DROP, unseen: TRIM_MIN_DROP }, idle(0, 2 * TRIM_MIN_DROP), idle(0, 2 * TRIM_MIN_DROP)])).toEqual([
      0,
      0,
      0,
      TRIM_MIN_DROP,
    ]);
  });

  it("passes over a trickle, however many allocations end in all: a few at a time never filled the heap", () => {
    let activity = 0;
    const cycle = (): Level[] => {
      activity += 8; // 4 made, then 4 ended
      return [idle(4, activity - 4), idle(0, activity), idle(0, activity), idle(0, activity)];
    };
    const answers = decide(Array.from({ length: TRIM_MIN_DROP }, cycle).flat());
    expect(answers.every((answer) => answer === 0)).toBe(true);
  });

  it("takes a check in which allocations came and went, as many made as ended, as busy", () => {
    const churn = (activity: number): Level => ({ allocations: 0, activity, unseen: 1 });
    expect(decide([idle(2000), idle(0), churn(2), churn(4), churn(6), idle(0, 6), idle(0, 6)])).toEqual([0, 0, 0, 0, 0, 0, 2003]);
  });

  it("collects at most once in TRIM_MIN_INTERVAL_MS, and the ended allocations wait for it", () => {
    const whenDue = createHeapTrimPolicy();
    const endedWhenDue = (sample: HeapSample, nowMs: number) => endedOf(whenDue(sample, nowMs));
    const sample = sampler();
    const level = (atMs: number, allocations: number): number[] =>
      Array.from({ length: TRIM_QUIET_CHECKS + 1 }, (_, i) => endedWhenDue(sample(idle(allocations)), atMs + i * TRIM_CHECK_INTERVAL_MS));
    const lastCheck = TRIM_QUIET_CHECKS * TRIM_CHECK_INTERVAL_MS;
    expect(level(0, 2000)).toEqual([0, 0, 0]);
    expect(level(1000, 0)).toEqual([0, 0, 2000]);
    expect(level(2000, 3000)).toEqual([0, 0, 0]);
    expect(level(3000, 0)).toEqual([0, 0, 0]);
    expect(endedWhenDue(sample(idle(0)), 1000 + lastCheck + TRIM_MIN_INTERVAL_MS - 1)).toBe(0);
    expect(endedWhenDue(sample(idle(0)), 1000 + lastCheck + TRIM_MIN_INTERVAL_MS)).toBe(3000);
  });
});

const MiB = 1024 * 1024;

/** A thread holding `allocations`, with `activity` done so far and a heap of `heapMiB` (nothing ends: no allocation-drop reason). */
const held = (heapMiB: number, activity = 0, allocations = 0): HeapSample => ({ allocations, ended: 0, activity, heapBytes: heapMiB * MiB });

/** Feeds `samples` to a fresh policy, TRIM_MIN_INTERVAL_MS apart; the heap growth (MiB) when due for it, 0 when not (-1: due for another reason). */
function decideGrowth(samples: readonly HeapSample[]): number[] {
  const whenDue = createHeapTrimPolicy();
  return samples.map((sample, i) => {
    const due = whenDue(sample, i * TRIM_MIN_INTERVAL_MS);
    return due === undefined ? 0 : due.reason === "heap grew" ? due.heapGrowthBytes / MiB : -1;
  });
}

describe("heap trim policy: collect once a burst of work has grown the heap and the thread is idle", () => {
  const growth = TRIM_MIN_HEAP_GROWTH_BYTES / MiB;

  it("collects once the heap has grown by TRIM_MIN_HEAP_GROWTH_BYTES over its least and the thread has been idle for TRIM_QUIET_CHECKS checks", () => {
    expect(growth).toBe(32);
    // 20 MiB at start, a flood (busy checks) to 90, then idle.
    const busy = [held(20, 0), held(60, 50_000), held(90, 100_000)];
    expect(decideGrowth([...busy, held(90, 100_000), held(90, 100_000), held(90, 100_000)])).toEqual([0, 0, 0, 0, 70, 0]);
  });

  it("passes over a growth one byte short of TRIM_MIN_HEAP_GROWTH_BYTES", () => {
    const base = held(20);
    const grown = (bytes: number): HeapSample => ({ ...base, heapBytes: base.heapBytes! + bytes });
    expect(decideGrowth([base, grown(TRIM_MIN_HEAP_GROWTH_BYTES - 1), grown(TRIM_MIN_HEAP_GROWTH_BYTES - 1)])).toEqual([0, 0, 0]);
    expect(decideGrowth([base, grown(TRIM_MIN_HEAP_GROWTH_BYTES), grown(TRIM_MIN_HEAP_GROWTH_BYTES)])).toEqual([0, 0, growth]);
  });

  it("waits while the thread is quiet but not idle (more than TRIM_IDLE_ACTIVITY a check), and collects once it is idle", () => {
    const a = TRIM_IDLE_ACTIVITY;
    expect(a).toBeLessThan(TRIM_QUIET_ACTIVITY);
    // One audio call relayed both ways (50 packets a second each) is not idle.
    expect(a).toBeLessThan(((2 * 50) / 1000) * TRIM_CHECK_INTERVAL_MS);
    expect(decideGrowth([held(20), held(90, a + 1), held(90, 2 * a + 2), held(90, 3 * a + 3), held(90, 4 * a + 3), held(90, 5 * a + 3)])).toEqual([0, 0, 0, 0, 0, 70]);
  });

  it("waits while more than TRIM_GROWTH_MAX_LIVE allocations are live: their own heap would be part of the growth", () => {
    expect(TRIM_GROWTH_MAX_LIVE).toBeLessThan(TRIM_MAX_LIVE);
    const live = (allocations: number) => [held(20, 0, allocations), held(90, 0, allocations), held(90, 0, allocations)];
    expect(decideGrowth(live(TRIM_GROWTH_MAX_LIVE + 1))).toEqual([0, 0, 0]);
    expect(decideGrowth(live(TRIM_GROWTH_MAX_LIVE))).toEqual([0, 0, 70]);
  });

  it("measures the next growth from the least after the last collection, not from the start", () => {
    // Collects at 90 (70 over 20). The collection took it to 40: 60 is 20 over that, 72 is 32.
    expect(decideGrowth([held(20), held(90), held(90), held(40), held(60), held(60), held(72), held(72)])).toEqual([0, 0, 70, 0, 0, 0, 32, 0]);
  });

  it("counts the most growth seen, not what an ordinary collection left of it: the pages it freed stay with the process", () => {
    // A flood to 90 while busy, an ordinary collection back to 40 while still busy, then idle.
    expect(decideGrowth([held(20, 0), held(90, 50_000), held(40, 50_100), held(40, 50_100), held(40, 50_100)])).toEqual([0, 0, 0, 0, 70]);
    // After a collection the count starts again: 40 -> 60 is 20, below the bound.
    expect(decideGrowth([held(20), held(90), held(90), held(40), held(60), held(40), held(40)])).toEqual([0, 0, 70, 0, 0, 0, 0]);
  });

  it("takes the allocation-drop reason first when both hold, with the growth in its answer", () => {
    const whenDue = createHeapTrimPolicy();
    const samples: HeapSample[] = [
      { allocations: 2000, ended: 0, activity: 0, heapBytes: 20 * MiB },
      { allocations: 0, ended: 2000, activity: 2000, heapBytes: 90 * MiB },
      { allocations: 0, ended: 2000, activity: 2000, heapBytes: 90 * MiB },
      { allocations: 0, ended: 2000, activity: 2000, heapBytes: 90 * MiB },
    ];
    expect(samples.map((sample, i) => whenDue(sample, i * TRIM_MIN_INTERVAL_MS))).toEqual([undefined, undefined, undefined, { reason: "allocations ended", ended: 2000, heapGrowthBytes: 70 * MiB }]);
  });
});

/** What the main thread watches, from `state`: each check sees a new sample from each thread unless `stale`; threads are numbered from `first`. */
function watchingRelays(state: { trims: number; samples: HeapSample[]; stale?: boolean; first?: number }) {
  let sent = 0;
  return {
    relays: () => {
      if (state.stale !== true) sent++;
      return { trims: state.trims, threads: state.samples.map((sample, i) => ({ thread: (state.first ?? 0) + i, sample, sent })) };
    },
  };
}

const IDLE_THREAD: HeapSample = { allocations: 0, ended: 0, activity: 0 };

describe("startHeapTrim", () => {
  const clock = { now: () => Date.now() };

  it.each([
    { why: "allocations ended", samples: samplesOf([idle(3000), idle(0, 3000)]), message: TRIMMED_AFTER_ENDED, fields: { allocations: 0, ended: 3000 } },
    { why: "the heap grew with nothing ended", samples: [held(20), held(100, 80_000)], message: TRIMMED_AFTER_GROWTH, fields: { allocations: 0, ended: 0, heapGrowthMiB: 80 } },
  ])("in a relay thread, collects when the policy says so ($why), logs why, the pause and RSS, and counts it", ({ samples, message, fields }) => {
    vi.useFakeTimers();
    const log = createRecordingLogger();
    let collections = 0;
    const trim = startHeapTrim({ log, clock, watch: watching(samples), collect: () => ++collections > 0 });
    vi.advanceTimersByTime((1 + TRIM_QUIET_CHECKS) * TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(0);
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(1);
    vi.advanceTimersByTime(10 * TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(1);
    expect(trim.trims).toBe(1);
    expect(log.records.map((r) => r.msg)).toEqual([message]);
    const line = log.records[0];
    expect(line?.obj).toMatchObject(fields);
    for (const field of ["pauseMs", "rssBeforeMiB", "rssAfterMiB"]) expect(typeof line?.obj[field]).toBe("number");
    trim.stop();
  });

  it("in a relay thread run on the main thread (in process), passes over a heap larger than its bound", () => {
    vi.useFakeTimers();
    let heapUsed = TRIM_MAX_MAIN_HEAP_BYTES + 1;
    let collections = 0;
    const heapBound = { maxUsedBytes: TRIM_MAX_MAIN_HEAP_BYTES, usedBytes: () => heapUsed };
    const watch = watching(samplesOf([idle(3000), idle(0, 3000)]));
    const trim = startHeapTrim({ log: createRecordingLogger(), clock, watch, heapBound, collect: () => ++collections > 0 });
    vi.advanceTimersByTime(10 * TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(0);
    heapUsed = TRIM_MAX_MAIN_HEAP_BYTES;
    // The occasion has passed: the next collection waits for allocations to come and go again.
    vi.advanceTimersByTime(10 * TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(0);
    trim.stop();
    const again = startHeapTrim({ log: createRecordingLogger(), clock, watch: watching(samplesOf([idle(3000), idle(0, 3000)])), heapBound, collect: () => ++collections > 0 });
    vi.advanceTimersByTime(10 * TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(1);
    again.stop();
  });

  it("in the main thread, collects after the relay threads' count of collections grows, at most once in TRIM_MIN_INTERVAL_MS, and later rather than never", () => {
    vi.useFakeTimers();
    const log = createRecordingLogger();
    const relays = { trims: 4, samples: [IDLE_THREAD, IDLE_THREAD] };
    let collections = 0;
    const trim = startHeapTrim({ log, clock, watch: watchingRelays(relays), collect: () => ++collections > 0 });
    vi.advanceTimersByTime(4 * TRIM_CHECK_INTERVAL_MS);
    // What the threads had done before it started is not a reason.
    expect(collections).toBe(0);
    relays.trims = 5;
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(1);
    relays.trims = 6;
    vi.advanceTimersByTime(TRIM_MIN_INTERVAL_MS - TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(1);
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(2);
    vi.advanceTimersByTime(TRIM_MIN_INTERVAL_MS);
    expect(collections).toBe(2);
    expect(log.records.filter((r) => r.msg === TRIMMED_AFTER_RELAYS).map((r) => r.obj["relayTrims"])).toEqual([5, 6]);
    trim.stop();
  });

  it("in the main thread, waits until each relay thread is quiet again: a burst on one thread that follows their collection is not paused for", () => {
    vi.useFakeTimers();
    const relays = { trims: 0, samples: [IDLE_THREAD, { allocations: 0, ended: 5000, activity: 20_000 }] };
    let collections = 0;
    const trim = startHeapTrim({ log: createRecordingLogger(), clock, watch: watchingRelays(relays), collect: () => ++collections > 0 });
    vi.advanceTimersByTime(4 * TRIM_CHECK_INTERVAL_MS);
    relays.trims = 1;
    // The second thread alone: relaying past what one quiet thread does (within what two would), then
    // allocations made and then ended, each with little relaying.
    const busy: HeapSample[] = [
      { allocations: 0, ended: 5000, activity: 20_000 + TRIM_QUIET_ACTIVITY + 1 },
      { allocations: 10, ended: 5000, activity: 20_000 + TRIM_QUIET_ACTIVITY + 11 },
      { allocations: 0, ended: 5010, activity: 20_000 + TRIM_QUIET_ACTIVITY + 21 },
    ];
    for (const sample of busy) {
      relays.samples = [IDLE_THREAD, sample];
      vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
      expect(collections).toBe(0);
    }
    // Quiet: a little relaying, nothing made or ended, for TRIM_QUIET_CHECKS checks.
    for (let check = 1; check <= TRIM_QUIET_CHECKS; check++) {
      const last = relays.samples[1]!;
      relays.samples = [IDLE_THREAD, { ...last, activity: last.activity + TRIM_QUIET_ACTIVITY }];
      vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
      expect(collections).toBe(check < TRIM_QUIET_CHECKS ? 0 : 1);
    }
    trim.stop();
  });

  it("in the main thread, counts a check with no new sample from some relay thread neither as quiet nor as busy", () => {
    vi.useFakeTimers();
    const relays = { trims: 0, samples: [IDLE_THREAD, IDLE_THREAD], stale: false };
    let collections = 0;
    const trim = startHeapTrim({ log: createRecordingLogger(), clock, watch: watchingRelays(relays), collect: () => ++collections > 0 });
    // A busy check first, so that the quiet count starts from nothing.
    relays.samples = [IDLE_THREAD, { allocations: 1, ended: 0, activity: 1 }];
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    relays.trims = 1;
    // Samples that stopped coming (a busy thread's timer runs late) never add up to quiet.
    relays.stale = true;
    vi.advanceTimersByTime(10 * TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(0);
    // One quiet check, a stale one, then a second quiet check: collects.
    relays.stale = false;
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    relays.stale = true;
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(0);
    relays.stale = false;
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(1);
    trim.stop();
  });

  it("in the main thread, counts a check in which another thread took a place (one died, another came back) as busy", () => {
    vi.useFakeTimers();
    const relays = { trims: 0, samples: [IDLE_THREAD, IDLE_THREAD], first: 0 };
    let collections = 0;
    const trim = startHeapTrim({ log: createRecordingLogger(), clock, watch: watchingRelays(relays), collect: () => ++collections > 0 });
    vi.advanceTimersByTime(4 * TRIM_CHECK_INTERVAL_MS);
    relays.trims = 1;
    // Same count, same quiet figures, other threads: not a quiet check.
    relays.first = 1;
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(0);
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(0);
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(1);
    trim.stop();
  });

  it("in the main thread, passes over a heap larger than its bound (an application embedding the server)", () => {
    vi.useFakeTimers();
    const relays = { trims: 0, samples: [IDLE_THREAD, IDLE_THREAD] };
    let heapUsed = TRIM_MAX_MAIN_HEAP_BYTES + 1;
    let collections = 0;
    const heapBound = { maxUsedBytes: TRIM_MAX_MAIN_HEAP_BYTES, usedBytes: () => heapUsed };
    const trim = startHeapTrim({ log: createRecordingLogger(), clock, watch: watchingRelays(relays), heapBound, collect: () => ++collections > 0 });
    relays.trims = 1;
    vi.advanceTimersByTime(4 * TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(0);
    heapUsed = TRIM_MAX_MAIN_HEAP_BYTES;
    relays.trims = 2;
    vi.advanceTimersByTime(TRIM_CHECK_INTERVAL_MS);
    expect(collections).toBe(1);
    trim.stop();
  });

  it("stops checking, and says so, where V8 gives no gc function", () => {
    vi.useFakeTimers();
    const log = createRecordingLogger();
    const watch = watching(samplesOf([idle(5000), idle(0), idle(0), idle(0)]));
    const trim = startHeapTrim({ log, clock, watch, collect: () => false });
    vi.advanceTimersByTime(20 * TRIM_CHECK_INTERVAL_MS);
    expect(watch.sampled()).toBe(4);
    expect(trim.trims).toBe(0);
    expect(log.records.map((r) => [r.level, r.msg])).toEqual([["info", "no V8 gc function here: the heap of ended allocations stays with the process"]]);
    trim.stop();
  });

  it("stops checking on a failure, with a warning, and lets nothing escape to the thread", () => {
    vi.useFakeTimers();
    const log = createRecordingLogger();
    let sampled = 0;
    startHeapTrim({
      log,
      clock,
      watch: {
        sample: () => {
          sampled++;
          throw new Error("cannot read");
        },
      },
      collect: () => true,
    });
    vi.advanceTimersByTime(10 * TRIM_CHECK_INTERVAL_MS);
    expect(sampled).toBe(1);
    expect(log.records.map((r) => [r.level, r.msg])).toEqual([["warn", "heap trim failed; it stops, the relay goes on"]]);
  });

  it("stops on stop()", () => {
    vi.useFakeTimers();
    let sampled = 0;
    const trim = startHeapTrim({ log: createRecordingLogger(), clock, watch: { sample: () => ({ allocations: 0, ended: 0, activity: sampled++ }) }, collect: () => true });
    vi.advanceTimersByTime(4 * TRIM_CHECK_INTERVAL_MS);
    trim.stop();
    vi.advanceTimersByTime(4 * TRIM_CHECK_INTERVAL_MS);
    expect(sampled).toBe(4);
  });
});

describe("heapHeldBytes", () => {
  it("counts the memory Buffers hold outside V8's heap: a flood's garbage is mostly received chunks", () => {
    const heldBefore = heapHeldBytes();
    const heapBefore = getHeapStatistics().total_heap_size;
    const chunks = Array.from({ length: 64 }, () => Buffer.alloc(MiB));
    // Within a little of the 64 MiB: other external memory may come and go meanwhile.
    expect(heapHeldBytes() - heldBefore).toBeGreaterThan(60 * MiB);
    // And not V8's heap: that may grow meanwhile (a young generation sized up: 8 MiB in one CI run), not by the 64 MiB.
    expect(getHeapStatistics().total_heap_size - heapBefore).toBeLessThan(32 * MiB);
    expect(chunks).toHaveLength(64);
  });
});

describe("collectReducingMemory", () => {
  it("gives back to the system the heap pages that garbage left sparse, which no other collection compacts", () => {
    // One object in twenty lives on: no page of the garbage is empty, so only compaction frees them.
    let all: object[] | undefined = Array.from({ length: 400_000 }, (_, i) => ({ i, s: `x${i}`, pair: [i, i + 1] }));
    const kept = all.filter((_, i) => i % 20 === 0);
    all = undefined;
    const before = getHeapStatistics().total_heap_size;
    // As the server does at start, before its relay threads run.
    exposeGc();
    expect(collectReducingMemory()).toBe(true);
    const after = getHeapStatistics().total_heap_size;
    expect(kept).toHaveLength(20_000);
    // The garbage took about 60 MiB here; at least 32 MiB of it must go.
    expect(before - after).toBeGreaterThan(32 * 1024 * 1024);
  });
});
