/**
 * What a UDP socket may hold in libuv's queue. A send goes to the kernel at once while the socket's
 * send buffer has room; once it is full (an uplink slower than what arrives), libuv queues every
 * further send in memory, with no limit: a client flooding toward a congested link made the process
 * grow by 750 MiB in 1.5 s. Past either bound a datagram is dropped, as the kernel drops what its own
 * queues cannot hold; UDP promised no more. Bytes too, or 512 large datagrams would be 32 MiB.
 */
const MAX_QUEUED_DATAGRAMS = 512;
const MAX_QUEUED_BYTES = 256 * 1024;

interface QueueingSocket {
  getSendQueueCount(): number;
  getSendQueueSize(): number;
}

/** True when `socket` holds that many unsent; false for a socket that is not open (its send says why). */
export function sendQueueFull(socket: QueueingSocket): boolean {
  try {
    const count = socket.getSendQueueCount();
    return count > 0 && (count >= MAX_QUEUED_DATAGRAMS || socket.getSendQueueSize() >= MAX_QUEUED_BYTES);
  } catch {
    return false;
  }
}
