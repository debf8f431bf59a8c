/**
 * What a UDP socket may hold in libuv's queue. A send goes to the kernel at once while the socket's
 * send buffer has room; once it is full (an uplink slower than what arrives), libuv queues every
 * further send in memory, with no limit: a client flooding toward a congested link made the process
 * grow by 750 MiB in 1.5 s. Past either bound a datagram is dropped, as the kernel drops what its own
 * queues cannot hold; UDP promised no more. Bytes too: datagrams of up to 64 KiB make a bound in
 * datagrams alone worth megabytes (512 on a listener, 32 MiB).
 */
export interface SendQueueLimits {
  readonly datagrams: number;
  readonly bytes: number;
}

/** A listener: one socket that every client of its relay thread shares. */
export const LISTENER_QUEUE: SendQueueLimits = { datagrams: 512, bytes: 256 * 1024 };

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
