/**
 * Datagrams a UDP socket may hold in libuv's queue. A send goes to the kernel at once while the
 * socket's send buffer has room; once it is full (an uplink slower than what arrives), libuv queues
 * every further send in memory, with no limit: a client flooding toward a congested link made the
 * process grow by a gigabyte in two seconds. Past this many a datagram is dropped, as the kernel drops
 * what its own queues cannot hold; UDP promised no more.
 */
export const MAX_QUEUED_DATAGRAMS = 512;

/** True when `socket` holds that many unsent; false for a socket that is not open (its send says why). */
export function sendQueueFull(socket: { getSendQueueCount(): number }): boolean {
  try {
    return socket.getSendQueueCount() >= MAX_QUEUED_DATAGRAMS;
  } catch {
    return false;
  }
}
