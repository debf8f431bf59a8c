// Saturation: a window of packets in flight per flow, refilled as echoes come back (closed loop), stepped
// up until more than `lossLimit` of what a step sent is lost, twice in a row (one step past the limit
// can be a neighbour's burst on a shared machine). Each step is drained before the next, so its loss
// counts exactly the packets it sent.
import type { EchoFlow } from "./echo-flows.js";
import { canSend, createCounters, createTracker, expireBefore, sendNext, type FlowTracker, type LoadCounters } from "./flow-tracker.js";
import { loadSideCpu, type LoadProbe, type LoadSideCpu } from "./load-probe.js";
import { sleep, waitUntil } from "./timing.js";

export interface FloodOptions {
  /** Packets in flight per flow, one step each, in increasing order. */
  readonly windows: readonly number[];
  readonly warmupMs: number;
  readonly stepMs: number;
  /** An echo later than this counts as lost (and its slot is refilled). */
  readonly timeoutMs: number;
  readonly lossLimit: number;
  readonly payloadBytes: number;
  /** Called after each step (for --verbose). */
  readonly onStep?: (step: FloodStep) => void;
}

export interface FloodStep {
  readonly windowPerFlow: number;
  readonly flows: number;
  readonly seconds: number;
  readonly sent: number;
  readonly lost: number;
  /** lost / sent, over everything the step sent (warm-up and measurement). */
  readonly loss: number;
  readonly echoedPerSecond: number;
  /** Both directions: client -> peer counted at the echo peer, peer -> client counted here. */
  readonly relayedDatagrams: number;
  readonly serverCpuMicros: number;
  readonly cpuMicrosPerDatagram: number;
  readonly loadSide: LoadSideCpu;
}

export interface FloodResult {
  readonly steps: readonly FloodStep[];
  /** The step with the highest echoed rate among those within the loss limit. */
  readonly best: FloodStep | undefined;
  /** The last step run: past the loss limit when stepping stopped there, else the largest window. */
  readonly saturation: FloodStep | undefined;
  readonly peakRssBytes: number | undefined;
}

const EXPIRY_INTERVAL_MS = 20;
const RSS_INTERVAL_MS = 200;

export async function runFlood(flows: readonly EchoFlow[], probe: LoadProbe, options: FloodOptions): Promise<FloodResult> {
  const counters = createCounters();
  let window = 0;
  const fill = (tracker: FlowTracker): void => {
    while (tracker.inFlight < window && canSend(tracker)) sendNext(tracker, counters);
  };
  const trackers = flows.map((flow) => createTracker(flow, options.payloadBytes, counters, fill));
  for (const tracker of trackers) tracker.flow.onDrain(() => fill(tracker));

  const expiry = setInterval(() => {
    const deadline = performance.now() - options.timeoutMs;
    for (const tracker of trackers) {
      expireBefore(tracker, deadline, counters);
      fill(tracker);
    }
  }, EXPIRY_INTERVAL_MS);
  let peakRssBytes: number | undefined;
  const rss = setInterval(() => {
    const value = probe.serverRssBytes();
    if (value !== undefined) peakRssBytes = Math.max(peakRssBytes ?? 0, value);
  }, RSS_INTERVAL_MS);

  const steps: FloodStep[] = [];
  try {
    for (const windowPerFlow of options.windows) {
      const step = await runStep(windowPerFlow);
      steps.push(step);
      options.onStep?.(step);
      const previous = steps.at(-2);
      if (step.loss > options.lossLimit && previous !== undefined && previous.loss > options.lossLimit) break;
    }
  } finally {
    window = 0;
    clearInterval(expiry);
    clearInterval(rss);
  }
  const passing = steps.filter((step) => step.loss <= options.lossLimit);
  const best = passing.reduce<FloodStep | undefined>((top, step) => (top === undefined || step.echoedPerSecond > top.echoedPerSecond ? step : top), undefined);
  const saturation = steps.at(-1);
  return { steps, best, saturation, peakRssBytes };

  async function runStep(windowPerFlow: number): Promise<FloodStep> {
    const before: LoadCounters = { ...counters };
    window = windowPerFlow;
    for (const tracker of trackers) fill(tracker);
    await sleep(options.warmupMs);

    const echoedAtStart = counters.echoed;
    const begin = await probe.sample();
    const startedAt = performance.now();
    await sleep(options.stepMs);
    const echoedAtEnd = counters.echoed;
    const end = await probe.sample();
    const seconds = (performance.now() - startedAt) / 1000;

    // Drain: send nothing more and wait until every packet of this step is echoed or expired.
    window = 0;
    await waitUntil(() => trackers.every((tracker) => tracker.inFlight === 0), options.timeoutMs * 2 + 500);
    const sent = counters.sent - before.sent;
    const lost = counters.lost - before.lost;
    const echoed = echoedAtEnd - echoedAtStart;
    const relayedDatagrams = end.peerReceived - begin.peerReceived + echoed;
    const serverCpuMicros = end.serverCpuMicros - begin.serverCpuMicros;
    return {
      windowPerFlow,
      flows: trackers.length,
      seconds,
      sent,
      lost,
      loss: sent === 0 ? 0 : lost / sent,
      echoedPerSecond: echoed / seconds,
      relayedDatagrams,
      serverCpuMicros,
      cpuMicrosPerDatagram: relayedDatagrams === 0 ? Number.NaN : serverCpuMicros / relayedDatagrams,
      loadSide: loadSideCpu(begin, end, seconds),
    };
  }
}
