/**
 * What a UDP socket may hold in libuv's queue. A send goes to the kernel at once while the socket's
 * send buffer has room; once it is full (an uplink slower than what arrives), libuv queues every
 * further send in memory, with no limit: a client flooding toward a congested link made the process
 * grow by 750 MiB in 1.5 s. Past either bound a datagram is dropped, as the kernel drops what its own
 * queues cannot hold; UDP promised no more. Bytes too: a datagram may be up to 64 KiB, so a bound in
 * datagrams alone would let a listener's 512 hold 32 MiB.
 */
export interface SendQueueLimits {
  readonly datagrams: number;
  readonly bytes: number;
}

/** A listener: one socket that every client of its relay thread shares. */
export const LISTENER_QUEUE: SendQueueLimits = { datagrams: 512, bytes: 256 * 1024 };

/** What one destination address may hold of a listener's queue: an eighth. */
export const LISTENER_SHARE: SendQueueLimits = { datagrams: LISTENER_QUEUE.datagrams / 8, bytes: LISTENER_QUEUE.bytes / 8 };

/**
 * A relay socket: one allocation's. The kernel's send buffer (about 208 KiB by default) already holds
 * a burst; media queued past it only arrives later, and thousands of allocations each holding 256 KiB
 * would add up to gigabytes.
 */
export const RELAY_SOCKET_QUEUE: SendQueueLimits = { datagrams: 64, bytes: 64 * 1024 };

interface QueueingSocket {
  getSendQueueCount(): number;
  getSendQueueSize(): number;
}

/** True when `socket` holds that many unsent; false for a socket that is not open (its send says why). */
export function sendQueueFull(socket: QueueingSocket, limits: SendQueueLimits): boolean {
  try {
    const count = socket.getSendQueueCount();
    return count > 0 && (count >= limits.datagrams || socket.getSendQueueSize() >= limits.bytes);
  } catch {
    return false;
  }
}

/** Bytes all of a relay thread's relay sockets may hold waiting together, however many allocations it has. */
export const RELAY_QUEUE_BUDGET_BYTES = 64 * 1024 * 1024;
const RECOUNT_MS = 100;
/** Ethernet's MTU: media datagrams (WebRTC keeps to about 1,200 bytes) fit in it. */
const LINK_DATAGRAM_BYTES = 1500;

/**
 * What a group of sockets holds waiting, together, against its bytes and each socket's limits. A send
 * that had to wait adds its size at once; what drained is only seen when the sockets are counted again,
 * every 100 ms while any holds something: until then the total runs high, never low.
 */
export class SendQueueBudget {
  private readonly waiting = new Set<QueueingSocket>();
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: SendQueueLimits,
    private readonly maxBytes: number,
  ) {}

  /** Bytes waiting, as of the last count plus what waited since. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /**
   * Before a send of `length` bytes: true (drop it) when `socket` holds its limit, or when the group is
   * at its bytes and the socket holds some too. One that holds nothing still sends a datagram of a
   * link's usual size, which its kernel buffer most likely takes; a larger one could only wait.
   */
  full(socket: QueueingSocket, length: number): boolean {
    if (sendQueueFull(socket, this.limits)) return true;
    if (this.queuedBytes + length <= this.maxBytes) return false;
    return length > LINK_DATAGRAM_BYTES || this.holdsAny(socket);
  }

  /** After a send of `length` bytes: counts it if it waits. */
  sent(socket: QueueingSocket, length: number): void {
    if (!this.holdsAny(socket)) return;
    this.queuedBytes += length;
    this.waiting.add(socket);
    this.timer ??= setInterval(() => this.recount(), RECOUNT_MS).unref();
  }

  /** Counts again what the sockets hold; forgets those drained, and stops counting when none holds anything. */
  recount(): void {
    let total = 0;
    for (const socket of this.waiting) {
      let size = 0;
      try {
        size = socket.getSendQueueSize();
      } catch {
        // Closed: it holds nothing any more.
      }
      if (size === 0) this.waiting.delete(socket);
      else total += size;
    }
    this.queuedBytes = total;
    if (this.waiting.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private holdsAny(socket: QueueingSocket): boolean {
    try {
      return socket.getSendQueueCount() > 0;
    } catch {
      return false;
    }
  }
}

interface Held {
  datagrams: number;
  bytes: number;
}

/**
 * Shares of a queue that many destinations use (a listener's): while the socket's queue holds
 * anything, a destination may have only its share waiting there. A flood towards one client, over a
 * link it has congested, then leaves the rest of the queue to the thread's other clients, instead of
 * filling it and having their data dropped. By address, not port: one host's many ports get one share.
 */
export class QueueShares {
  private readonly held = new Map<string, Held>();

  constructor(private readonly share: SendQueueLimits) {}

  /** Destinations with something waiting. */
  get destinations(): number {
    return this.held.size;
  }

  /**
   * Before a send of `length` bytes to `destination` that will wait in the queue: undefined (drop it)
   * when the destination holds its share, else the callback for the send, which gives the share back
   * once the datagram has left (or the socket closed). One datagram always goes when it holds nothing.
   */
  admit(destination: string, length: number): (() => void) | undefined {
    let held = this.held.get(destination);
    if (held !== undefined && (held.datagrams >= this.share.datagrams || held.bytes + length > this.share.bytes)) return undefined;
    if (held === undefined) this.held.set(destination, (held = { datagrams: 0, bytes: 0 }));
    held.datagrams++;
    held.bytes += length;
    const taken = held;
    return () => {
      taken.datagrams--;
      taken.bytes -= length;
      if (taken.datagrams === 0 && this.held.get(destination) === taken) this.held.delete(destination);
    };
  }
}
