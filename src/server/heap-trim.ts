import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isMainThread } from "node:worker_threads";
import type { Clock, Logger } from "../turn/ports.js";

// Once most of a thread's allocations have ended, the heap they filled stays with the process: their
// garbage is spread over pages that no ordinary collection compacts, and an idle thread allocates
// nothing, so no collection runs at all. V8's memory reducer would give the pages back, but in Node.js
// it never starts (its trace says "high alloc, foreground", idle or not). So a relay thread asks for
// V8's memory-reducing full collection (the one it runs as a last resort: it compacts and unmaps what
// it frees) itself, once its allocations have fallen to half their most or less and the thread has
// gone quiet (createHeapTrimPolicy), or once a burst of other work (a flood of requests) has left
// its heap far larger than it was; the main thread follows once they are all quiet. Measured,
// 10,000 allocations with a channel each, deleted: RSS 147 -> 104 MiB, where it was before them,
// for a 40-50 ms pause of each thread.

/** A smaller fall in the allocations held is not worth a pause (their heap is about 2 KiB each). */
export const TRIM_MIN_DROP = 1000;
/** The pause grows with the heap still live: about 70 ms with 4,000 allocations, 100 with 8,000. */
export const TRIM_MAX_LIVE = 5000;
/**
 * Growth of a thread's heap (heapHeldBytes) over its least since the last collection that is worth a
 * pause by itself, with no allocations ended: 200 connections flooding Binding requests left a relay
 * thread's 61-70 MiB larger (and the process's RSS 150 MiB larger), almost none of it live. The most
 * growth seen counts, not what is left of it: an ordinary collection shrinks the figure back, but the
 * pages it frees stay with the process (V8 pools them) until a memory-reducing collection.
 */
export const TRIM_MIN_HEAP_GROWTH_BYTES = 32 * 1024 * 1024;
/**
 * For that, the checks must be idle, not just quiet: 40 or fewer a second of what activityOf counts
 * (messages from clients and datagrams from peers, whatever became of them), less than one audio call
 * relayed both ways (50 packets a second each way), so that a thread still carrying media, or still
 * answering a flood, is not paused for its garbage.
 */
export const TRIM_IDLE_ACTIVITY = 10;
/**
 * And no more allocations than this may be live: their own heap (about 2 KiB each) is then a small
 * part of the growth, and a thread holding many idle ones (as after a burst of allocations, before
 * they end) is left to the allocation-drop reason.
 */
export const TRIM_GROWTH_MAX_LIVE = 1000;
/** Messages from clients and datagrams from peers (activityOf) in one check: more, and the thread is busy. */
export const TRIM_QUIET_ACTIVITY = 250;
/** Checks in a row that must be quiet, with no allocation made or ended. */
export const TRIM_QUIET_CHECKS = 2;
export const TRIM_CHECK_INTERVAL_MS = 250;
/**
 * A collection also costs later: the next burst regrows the heap from small limits, and compiles
 * again the code built on hidden classes that no object had any more (9-11 code objects over two
 * threads, in Node's timers and sends; 71-99 before shape-keeper.ts). Before that keeper, 10,000
 * allocations over two threads right after a collection took up to 25% more CPU than after none in
 * some A/B batches on a noisy host, and the same in others; since, the difference is within the
 * noise. So at most one per thread in this long.
 */
export const TRIM_MIN_INTERVAL_MS = 30_000;
/**
 * The main thread follows only while its heap is this small: ours holds about 10 MiB, and an
 * application that embeds the server (startServer) may hold far more, which a pause would walk.
 */
export const TRIM_MAX_MAIN_HEAP_BYTES = 64 * 1024 * 1024;

/** What a thread holds and has done, sampled at each check. */
export interface HeapSample {
  readonly allocations: number;
  /** A running total of the allocations that ended (expired or deleted), short-lived ones too: no sample of `allocations` sees those. */
  readonly ended: number;
  /** A running total of the thread's work (activityOf): messages from clients, datagrams from peers, expiries. */
  readonly activity: number;
  /** The thread's V8 heap and its Buffers' memory (heapHeldBytes); absent where it is not watched. */
  readonly heapBytes?: number;
}

/** Why a collection is due: allocations that ended since the last one, and the most the heap grew over its least since then. */
export interface TrimDue {
  readonly reason: "allocations ended" | "heap grew";
  readonly ended: number;
  readonly heapGrowthBytes: number;
}

/**
 * Decides, check by check, when to collect. For TRIM_QUIET_CHECKS checks the thread did little and
 * no allocation came or went, the last collection is TRIM_MIN_INTERVAL_MS behind, and either:
 * - since the last collection the allocations held have fallen by at least TRIM_MIN_DROP from their
 *   most, and at most half of that most, and no more than TRIM_MAX_LIVE, are still live (the pause
 *   grows with the live heap). The most held between two checks is taken as what the later one
 *   holds plus what ended in between, so a burst that came and went between them counts; or
 * - the heap has grown by TRIM_MIN_HEAP_GROWTH_BYTES over its least since the last collection (at
 *   its most: what an ordinary collection has since freed counts too), no
 *   more than TRIM_GROWTH_MAX_LIVE allocations are live, and the quiet checks were idle
 *   (TRIM_IDLE_ACTIVITY): a burst of requests left its garbage behind.
 */
export function createHeapTrimPolicy(): (sample: HeapSample, nowMs: number) => TrimDue | undefined {
  let peak = 0;
  let endedAtTrim = 0;
  let leastHeapBytes = Number.POSITIVE_INFINITY;
  let heapGrowthBytes = 0;
  let last: HeapSample | undefined;
  let quietChecks = 0;
  let idleChecks = 0;
  let lastTrimMs = Number.NEGATIVE_INFINITY;
  return (sample, nowMs) => {
    const { allocations, ended, heapBytes } = sample;
    peak = Math.max(peak, allocations + ended - (last?.ended ?? 0));
    if (heapBytes !== undefined) {
      leastHeapBytes = Math.min(leastHeapBytes, heapBytes);
      heapGrowthBytes = Math.max(heapGrowthBytes, heapBytes - leastHeapBytes);
    }
    quietChecks = isQuiet(sample, last, TRIM_QUIET_ACTIVITY) ? quietChecks + 1 : 0;
    idleChecks = isQuiet(sample, last, TRIM_IDLE_ACTIVITY) ? idleChecks + 1 : 0;
    last = sample;
    if (quietChecks < TRIM_QUIET_CHECKS || allocations > TRIM_MAX_LIVE || nowMs - lastTrimMs < TRIM_MIN_INTERVAL_MS) return undefined;
    const allocationsEnded = peak - allocations >= TRIM_MIN_DROP && allocations <= peak / 2;
    const heapGrew = heapGrowthBytes >= TRIM_MIN_HEAP_GROWTH_BYTES && idleChecks >= TRIM_QUIET_CHECKS && allocations <= TRIM_GROWTH_MAX_LIVE;
    if (!allocationsEnded && !heapGrew) return undefined;
    const due: TrimDue = { reason: allocationsEnded ? "allocations ended" : "heap grew", ended: ended - endedAtTrim, heapGrowthBytes };
    peak = allocations;
    endedAtTrim = ended;
    leastHeapBytes = Number.POSITIVE_INFINITY;
    heapGrowthBytes = 0;
    lastTrimMs = nowMs;
    return due;
  };
}

/**
 * What this thread's V8 heap holds from the system, with the memory its Buffers hold outside it: a
 * flood's garbage is mostly received chunks, which only a collection lets go of.
 */
export function heapHeldBytes(): number {
  const heap = getHeapStatistics();
  return heap.total_heap_size + heap.external_memory;
}

/** Little work, and no allocation made or ended, since the last sample. */
function isQuiet(sample: HeapSample, last: HeapSample | undefined, maxActivity: number): boolean {
  if (last === undefined) return false;
  const moved = sample.activity - last.activity;
  return moved >= 0 && moved <= maxActivity && sample.allocations === last.allocations && sample.ended === last.ended;
}

type GcFunction = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;
let gc: GcFunction | null | undefined;

/**
 * Lets every V8 context made from now on have V8's gc function: the server calls this once at start,
 * before any relay thread runs, and their contexts then have it. V8 flags are the process's.
 */
export function exposeGc(): void {
  if (isMainThread) setFlagsFromString("--expose-gc");
}

/** V8's memory-reducing collection on this thread; false when V8 gives no gc function here. */
export function collectReducingMemory(): boolean {
  if (gc === undefined) gc = findGc();
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
  return gc !== null;
}

function findGc(): GcFunction | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === "function") return own as GcFunction;
  try {
    const found: unknown = runInNewContext("typeof gc === 'function' ? gc : undefined");
    return typeof found === "function" ? (found as GcFunction) : null;
  } catch {
    return null;
  }
}

/** One relay thread as the main thread sees it: which it is, its latest sample, and how many it has sent. */
export interface RelayThreadSample {
  readonly thread: number;
  readonly sample: HeapSample;
  readonly sent: number;
}

/** What the main thread watches: the relay threads' collections so far, and each thread (undefined: no sample from it yet). */
export interface RelayThreadsWatch {
  readonly trims: number;
  readonly threads: readonly (RelayThreadSample | undefined)[];
}

export interface HeapTrimOptions {
  readonly log: Logger;
  /**
   * Relay thread: its sample (allocations held and ended, activity, and its heap where it is its
   * own), for createHeapTrimPolicy. Main thread: the relay threads (RelayThreadsWatch); it collects
   * after their collections, once each of them is quiet.
   */
  readonly watch: { readonly sample: () => HeapSample } | { readonly relays: () => RelayThreadsWatch };
  /**
   * A collection is passed over while this thread's heap in use is above `maxUsedBytes` (V8's
   * figure unless a test passes `usedBytes`): on the process's main thread, which an application
   * embedding the server shares (TRIM_MAX_MAIN_HEAP_BYTES).
   */
  readonly heapBound?: { readonly maxUsedBytes: number; readonly usedBytes?: () => number } | undefined;
  /** For the interval between collections; a monotonic clock unless a test passes its own. */
  readonly clock?: Clock;
  /** The collection; collectReducingMemory unless a test passes its own. */
  readonly collect?: () => boolean;
}

export interface HeapTrim {
  /** Collections run so far. */
  readonly trims: number;
  stop(): void;
}

/** What runs with heap-trim=false: no checks, no collections. */
export const NO_HEAP_TRIM: HeapTrim = Object.freeze({ trims: 0, stop: () => {} });

/** Checks every TRIM_CHECK_INTERVAL_MS and collects when due; a failure ends the checks, never the thread. */
export function startHeapTrim(options: HeapTrimOptions): HeapTrim {
  const { log, watch } = options;
  const collect = options.collect ?? collectReducingMemory;
  const clock = options.clock ?? { now: () => performance.now() };
  const { heapBound } = options;
  const usedBytes = heapBound?.usedBytes ?? (() => getHeapStatistics().used_heap_size);
  const overBound = (): boolean => heapBound !== undefined && usedBytes() > heapBound.maxUsedBytes;
  const due = "sample" in watch ? relayThreadDue(watch.sample, overBound) : mainThreadDue(watch.relays, overBound);
  let trims = 0;
  const check = (): void => {
    const nowMs = clock.now();
    const trim = due(nowMs);
    if (trim === undefined) return;
    const rssBeforeMiB = rssMiB();
    const startedMs = performance.now();
    if (!collect()) {
      log.info({}, "no V8 gc function here: the heap of ended allocations stays with the process");
      clearInterval(timer);
      return;
    }
    trims++;
    const pauseMs = Math.round(performance.now() - startedMs);
    log.info({ ...trim.fields, pauseMs, rssBeforeMiB, rssAfterMiB: rssMiB() }, trim.message);
  };
  const timer = setInterval(() => {
    try {
      check();
    } catch (error) {
      clearInterval(timer);
      log.warn({ err: error }, "heap trim failed; it stops, the relay goes on");
    }
  }, TRIM_CHECK_INTERVAL_MS);
  timer.unref();
  return {
    get trims() {
      return trims;
    },
    stop: () => clearInterval(timer),
  };
}

/** The log line when a collection is due now, else undefined. */
type TrimLineWhenDue = (nowMs: number) => { readonly message: string; readonly fields: Record<string, number> } | undefined;

export const TRIMMED_AFTER_ENDED = "heap trimmed after allocations ended";
export const TRIMMED_AFTER_GROWTH = "heap trimmed after it grew";
export const TRIMMED_AFTER_RELAYS = "heap trimmed after the relay threads trimmed theirs";

function relayThreadDue(sample: () => HeapSample, overBound: () => boolean): TrimLineWhenDue {
  const whenDue = createHeapTrimPolicy();
  return (nowMs) => {
    const current = sample();
    const due = whenDue(current, nowMs);
    if (due === undefined || overBound()) return undefined;
    const fields = { allocations: current.allocations, ended: due.ended, heapGrowthMiB: Math.round(due.heapGrowthBytes / 1048576) };
    return { message: due.reason === "heap grew" ? TRIMMED_AFTER_GROWTH : TRIMMED_AFTER_ENDED, fields };
  };
}

/**
 * After a relay thread's collection, once each relay thread has been quiet for TRIM_QUIET_CHECKS
 * checks: a collection here walks this thread's heap with V8's helper threads, which would take
 * cores from relay threads busy again with a new burst. A thread sends a sample every 250 ms; a
 * check that has no new one from some thread says nothing either way (a busy thread's timer may run
 * late, and its last sample would look quiet).
 */
function mainThreadDue(relays: () => RelayThreadsWatch, overBound: () => boolean): TrimLineWhenDue {
  let seen = relays().trims;
  let pending = false;
  let lastTrimMs = Number.NEGATIVE_INFINITY;
  let last: RelayThreadsWatch["threads"] | undefined;
  let quietChecks = 0;
  return (nowMs) => {
    const { trims, threads } = relays();
    pending ||= trims > seen;
    seen = trims;
    const verdict = threadsVerdict(threads, last);
    last = threads;
    if (verdict === "busy") quietChecks = 0;
    else if (verdict === "quiet") quietChecks++;
    if (!pending || quietChecks < TRIM_QUIET_CHECKS || nowMs - lastTrimMs < TRIM_MIN_INTERVAL_MS) return undefined;
    pending = false;
    if (overBound()) return undefined;
    lastTrimMs = nowMs;
    return { message: TRIMMED_AFTER_RELAYS, fields: { relayTrims: trims } };
  };
}

/** "quiet" when every thread sent a quiet sample since `last`; "unknown" when some sent none and none was busy. */
function threadsVerdict(threads: RelayThreadsWatch["threads"], last: RelayThreadsWatch["threads"] | undefined): "quiet" | "busy" | "unknown" {
  // A thread that started, restarted or has yet to report counts as busy.
  if (last === undefined || threads.length !== last.length) return "busy";
  let verdict: "quiet" | "unknown" = "quiet";
  for (let i = 0; i < threads.length; i++) {
    const now = threads[i];
    const before = last[i];
    if (now === undefined || before === undefined || now.thread !== before.thread) return "busy";
    if (now.sent === before.sent) verdict = "unknown";
    else if (!isQuiet(now.sample, before.sample, TRIM_QUIET_ACTIVITY)) return "busy";
  }
  return verdict;
}

function rssMiB(): number | undefined {
  try {
    return Math.round(process.memoryUsage.rss() / 1048576);
  } catch {
    return undefined;
  }
}
