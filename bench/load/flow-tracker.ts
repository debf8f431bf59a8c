// Per-flow bookkeeping of what is in flight: a sequence number in the first 4 bytes of each payload,
// the send time per sequence number in a ring, and counters shared by all flows of one load.
// No allocation per packet: frames are preallocated and reused round-robin.
import type { EchoFlow } from "./echo-flows.js";

export interface LoadCounters {
  sent: number;
  echoed: number;
  /** Not echoed within the timeout (or never). */
  lost: number;
  /** Echoed after being counted as lost, or not ours. */
  late: number;
}

export interface FlowTracker {
  readonly flow: EchoFlow;
  readonly frames: readonly Buffer[];
  /** Send time (performance.now()) by sequence number modulo RING_SIZE; 0 when not in flight. */
  readonly sentAt: Float64Array;
  readonly seqAt: Uint32Array;
  nextSeq: number;
  /** Everything before it is resolved (echoed or lost). */
  oldestSeq: number;
  inFlight: number;
}

const RING_SIZE = 1 << 15;
const RING_MASK = RING_SIZE - 1;
// A frame is reused FRAME_RING sends later; far more than the largest window, so never while queued.
const FRAME_RING = 2048;

export function createCounters(): LoadCounters {
  return { sent: 0, echoed: 0, lost: 0, late: 0 };
}

/** Takes over the flow's receive side: each echo is matched, counted, and reported with its RTT in ms. */
export function createTracker(
  flow: EchoFlow,
  payloadBytes: number,
  counters: LoadCounters,
  onEcho: (tracker: FlowTracker, rttMs: number) => void,
): FlowTracker {
  // A random start, never 0, so that a late echo from an earlier load on the same flow is not taken for one of ours.
  const firstSeq = 1 + Math.floor(Math.random() * 0x3fffffff);
  const tracker: FlowTracker = {
    flow,
    frames: Array.from({ length: FRAME_RING }, () => flow.newFrame(payloadBytes)),
    sentAt: new Float64Array(RING_SIZE),
    seqAt: new Uint32Array(RING_SIZE),
    nextSeq: firstSeq,
    oldestSeq: firstSeq,
    inFlight: 0,
  };
  flow.setReceiver((frame, offset) => {
    if (frame.length < offset + 4) return;
    const seq = frame.readUInt32BE(offset);
    const slot = seq & RING_MASK;
    const sentAt = tracker.sentAt[slot]!;
    if (sentAt === 0 || tracker.seqAt[slot] !== seq) {
      counters.late++;
      return;
    }
    tracker.sentAt[slot] = 0;
    tracker.inFlight--;
    counters.echoed++;
    onEcho(tracker, performance.now() - sentAt);
  });
  return tracker;
}

/** Room in the ring and no back-pressure from the socket. */
export function canSend(tracker: FlowTracker): boolean {
  return tracker.nextSeq - tracker.oldestSeq < RING_SIZE && !tracker.flow.isBackpressured();
}

export function sendNext(tracker: FlowTracker, counters: LoadCounters): void {
  const seq = tracker.nextSeq++ >>> 0;
  const slot = seq & RING_MASK;
  const frame = tracker.frames[seq % FRAME_RING]!;
  frame.writeUInt32BE(seq, tracker.flow.payloadOffset);
  tracker.seqAt[slot] = seq;
  tracker.sentAt[slot] = performance.now();
  tracker.inFlight++;
  counters.sent++;
  tracker.flow.send(frame);
}

/** Counts as lost everything sent before `deadlineMs` and not echoed; moves `oldestSeq` on. */
export function expireBefore(tracker: FlowTracker, deadlineMs: number, counters: LoadCounters): void {
  while (tracker.oldestSeq < tracker.nextSeq) {
    const slot = tracker.oldestSeq & RING_MASK;
    const sentAt = tracker.sentAt[slot]!;
    if (sentAt !== 0) {
      if (sentAt > deadlineMs) return;
      tracker.sentAt[slot] = 0;
      tracker.inFlight--;
      counters.lost++;
    }
    tracker.oldestSeq++;
  }
}
