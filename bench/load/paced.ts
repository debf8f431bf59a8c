// Round-trip time at a fixed offered rate: packets leave on a 1 ms timer tick, as many as the rate says
// are due, round-robin over the flows; each echo's RTT is recorded.
import type { EchoFlow } from "./echo-flows.js";
import { canSend, createCounters, createTracker, expireBefore, sendNext } from "./flow-tracker.js";
import { percentiles } from "../report/stats.js";
import { waitUntil } from "./timing.js";

export interface PacedOptions {
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly timeoutMs: number;
  readonly payloadBytes: number;
}

export interface PacedResult {
  readonly sent: number;
  readonly echoed: number;
  readonly loss: number;
  readonly p50Micros: number;
  readonly p99Micros: number;
  /** The rate actually offered (the timer can fall behind on a busy machine). */
  readonly offeredPerSecond: number;
}

export async function runPaced(flows: readonly EchoFlow[], options: PacedOptions): Promise<PacedResult> {
  const total = Math.round((options.ratePerSecond * options.durationMs) / 1000);
  const rtts = new Float64Array(total);
  let rttCount = 0;
  const counters = createCounters();
  const trackers = flows.map((flow) =>
    createTracker(flow, options.payloadBytes, counters, (_tracker, rttMs) => {
      if (rttCount < total) rtts[rttCount++] = rttMs * 1000;
    }),
  );

  const startedAt = performance.now();
  let due = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const target = Math.min(total, Math.floor(((performance.now() - startedAt) * options.ratePerSecond) / 1000));
      for (; due < target; due++) {
        const tracker = trackers[next++ % trackers.length]!;
        if (canSend(tracker)) sendNext(tracker, counters);
      }
      if (due >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const sendSeconds = (performance.now() - startedAt) / 1000;

  await waitUntil(() => trackers.every((tracker) => tracker.inFlight === 0), options.timeoutMs);
  for (const tracker of trackers) expireBefore(tracker, Number.POSITIVE_INFINITY, counters);
  const { p50, p99 } = percentiles(rtts.subarray(0, rttCount));
  return {
    sent: counters.sent,
    echoed: counters.echoed,
    loss: counters.sent === 0 ? 0 : counters.lost / counters.sent,
    p50Micros: p50,
    p99Micros: p99,
    offeredPerSecond: counters.sent / sendSeconds,
  };
}
