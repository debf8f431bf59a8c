import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isMainThread } from "node:worker_threads";
import type { Clock, Logger } from "../turn/ports.js";

// Once most of a thread's allocations have ended, the heap they filled stays with the process: their
// garbage is spread over pages that no collection compacts, and an idle thread allocates nothing, so
// no collection runs at all. V8's memory reducer would give the pages back, but in Node.js it never
// starts (its trace says "high alloc, foreground", idle or not). So a thread asks for V8's
// memory-reducing full collection (the one it runs as a last resort: it compacts and unmaps what it
// frees) itself, once ended allocations outnumber live ones and the thread is quiet. Measured, 10,000
// allocations with a channel each, deleted: RSS 147 -> 104 MiB, where it was before them, for a
// 40-50 ms pause of each thread.

/** Fewer ended allocations than this are not worth a pause (their heap is about 2.5 KiB each). */
export const TRIM_MIN_DROP = 1000;
/** Requests, relayed datagrams and allocation changes in one check: more, and the thread is busy. */
export const TRIM_QUIET_ACTIVITY = 250;
export const TRIM_CHECK_INTERVAL_MS = 250;
/**
 * A full collection also costs later: the next burst of allocations runs on a heap that regrows from
 * small limits (measured: 10,000 allocations over two threads right after one took about 25% more
 * CPU than after none). So at most one per thread in this long.
 */
export const TRIM_MIN_INTERVAL_MS = 30_000;

/** What a thread holds and has done, sampled at each check. */
export interface HeapSample {
  readonly allocations: number;
  /** A running total of the thread's work: requests answered, datagrams relayed, allocations made and ended. */
  readonly activity: number;
}

/**
 * Decides, check by check, when to collect: since the last collection at least TRIM_MIN_DROP
 * allocations have ended, at most half of the most held are still live (so the pause, which grows
 * with the live heap, buys back more than it walks), the thread did little since the last check, and
 * the last collection is TRIM_MIN_INTERVAL_MS behind. Returns how many allocations ended since the
 * last collection when it is time for one, else 0.
 */
export function createHeapTrimPolicy(): (sample: HeapSample, nowMs: number) => number {
  let peak = 0;
  let lastActivity: number | undefined;
  let lastTrimMs = Number.NEGATIVE_INFINITY;
  return ({ allocations, activity }, nowMs) => {
    peak = Math.max(peak, allocations);
    const quiet = lastActivity !== undefined && activity - lastActivity <= TRIM_QUIET_ACTIVITY;
    lastActivity = activity;
    const ended = peak - allocations;
    if (!quiet || ended < TRIM_MIN_DROP || allocations > peak / 2 || nowMs - lastTrimMs < TRIM_MIN_INTERVAL_MS) return 0;
    peak = allocations;
    lastTrimMs = nowMs;
    return ended;
  };
}

type GcFunction = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;
let gc: GcFunction | null | undefined;

/**
 * Lets every V8 context made from now on have V8's gc function: the main thread calls this before
 * starting relay threads, whose contexts then have it. V8 flags are the process's, so only the main
 * thread sets one, while no relay thread runs yet.
 */
export function exposeGc(): void {
  if (isMainThread) setFlagsFromString("--expose-gc");
}

/** V8's memory-reducing collection on this thread; false when V8 gives no gc function here. */
export function collectReducingMemory(): boolean {
  gc ??= findGc();
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
  return gc !== null;
}

function findGc(): GcFunction | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === "function") return own as GcFunction;
  exposeGc();
  try {
    const found: unknown = runInNewContext("typeof gc === 'function' ? gc : undefined");
    return typeof found === "function" ? (found as GcFunction) : null;
  } catch {
    return null;
  }
}

export interface HeapTrimOptions {
  readonly log: Logger;
  readonly sample: () => HeapSample;
  /** Wall-clock time, for TRIM_MIN_INTERVAL_MS; Date.now unless given. */
  readonly clock?: Clock;
  /** The collection; collectReducingMemory unless a test passes its own. */
  readonly collect?: () => boolean;
}

export interface HeapTrim {
  /** Collections run so far. */
  readonly trims: number;
  stop(): void;
}

/** Checks the thread every TRIM_CHECK_INTERVAL_MS and collects when createHeapTrimPolicy says so. */
export function startHeapTrim(options: HeapTrimOptions): HeapTrim {
  const { log, sample } = options;
  const collect = options.collect ?? collectReducingMemory;
  const clock = options.clock ?? { now: () => Date.now() };
  const trimDue = createHeapTrimPolicy();
  let trims = 0;
  const timer = setInterval(() => {
    const now = sample();
    const ended = trimDue(now, clock.now());
    if (ended === 0) return;
    const rssBefore = process.memoryUsage.rss();
    const startedMs = performance.now();
    if (!collect()) {
      log.debug({}, "no V8 gc function: the memory of ended allocations stays with the process");
      clearInterval(timer);
      return;
    }
    trims++;
    const pauseMs = Math.round(performance.now() - startedMs);
    log.info({ allocations: now.allocations, ended, pauseMs, rssMiB: [mib(rssBefore), mib(process.memoryUsage.rss())] }, "heap trimmed after allocations ended");
  }, TRIM_CHECK_INTERVAL_MS);
  timer.unref();
  return {
    get trims() {
      return trims;
    },
    stop: () => clearInterval(timer),
  };
}

function mib(bytes: number): number {
  return Math.round(bytes / 1048576);
}
