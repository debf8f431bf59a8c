// Paced packets through the relay and their echoes: every payload carries a sequence number, an
// echo retires it, and one not back within LOSS_AFTER_MS counts as lost.
const PAYLOAD_BYTES = 96;
const LOSS_AFTER_MS = 3000;
const TICK_MS = 10;

export interface TrafficCounters {
  sent: number;
  echoed: number;
  lost: number;
  /** Echoes of a packet already counted (duplicates) or never sent: both would be server bugs. */
  unexpected: number;
}

export interface TrafficTarget {
  /** Sends one payload, alternating ChannelData and Send indications; false when it cannot send now. */
  send(payload: Buffer): boolean;
}

export class Traffic {
  readonly counters: TrafficCounters = { sent: 0, echoed: 0, lost: 0, unexpected: 0 };
  private readonly outstanding = new Map<number, number>();
  private nextSequence = 1;
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private credit = 0;
  private cursor = 0;

  constructor(
    private readonly packetsPerSecond: number,
    private readonly targets: () => readonly TrafficTarget[],
  ) {}

  start(): void {
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      // At most a quarter second of backlog: a stalled event loop does not turn into a burst.
      this.credit = Math.min(this.credit + ((now - last) * this.packetsPerSecond) / 1000, this.packetsPerSecond / 4 + 1);
      last = now;
      this.sendBatch(Math.floor(this.credit));
    }, TICK_MS);
    this.sweeper = setInterval(() => this.sweepLost(Date.now()), 500);
  }

  private sendBatch(count: number): void {
    const targets = this.targets();
    if (targets.length === 0) return;
    for (let i = 0; i < count; i++) {
      const target = targets[this.cursor++ % targets.length]!;
      const payload = Buffer.alloc(PAYLOAD_BYTES);
      const sequence = this.nextSequence++;
      payload.writeUInt32BE(sequence >>> 0, 0);
      payload.writeUInt32BE(Math.floor(sequence / 2 ** 32), 4);
      if (!target.send(payload)) continue;
      this.outstanding.set(sequence, Date.now());
      this.counters.sent++;
      this.credit--;
    }
  }

  /** An echo came back to a client. */
  receive(payload: Buffer): void {
    if (payload.length !== PAYLOAD_BYTES) {
      this.counters.unexpected++;
      return;
    }
    const sequence = payload.readUInt32BE(0) + payload.readUInt32BE(4) * 2 ** 32;
    if (this.outstanding.delete(sequence)) this.counters.echoed++;
    else this.counters.unexpected++;
  }

  private sweepLost(nowMs: number): void {
    // Insertion order is send order: stop at the first packet still young enough.
    for (const [sequence, sentAtMs] of this.outstanding) {
      if (nowMs - sentAtMs < LOSS_AFTER_MS) break;
      this.outstanding.delete(sequence);
      this.counters.lost++;
    }
  }

  get inFlight(): number {
    return this.outstanding.size;
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.sweeper);
  }

  /** Counts what is still outstanding as lost; called after the last echoes had time to come back. */
  settle(): void {
    this.sweepLost(Number.POSITIVE_INFINITY);
  }
}
