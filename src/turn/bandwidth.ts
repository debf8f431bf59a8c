/**
 * max-bps for one allocation: a token bucket in bytes, refilled continuously, holding at most one
 * second's worth. Traffic past it is dropped, never queued, so a flood cannot grow memory.
 */
export interface BandwidthBucket {
  readonly bytesPerSecond: number;
  tokens: number;
  refilledAtMs: number;
}

export function createBandwidthBucket(bytesPerSecond: number, nowMs: number): BandwidthBucket {
  return { bytesPerSecond, tokens: bytesPerSecond, refilledAtMs: nowMs };
}

/** max-bps in each direction on its own, as coturn counts it (input and output streams separately). */
export interface AllocationBandwidth {
  /** Client to peer: ChannelData and Send indications from the client. */
  readonly toPeer: BandwidthBucket;
  /** Peer to client: what the relay socket receives. */
  readonly toClient: BandwidthBucket;
}

/** An allocation's buckets under max-bps, full; none for 0 (no limit). */
export function allocationBandwidthFor(maxBps: number, nowMs: number): AllocationBandwidth | undefined {
  return maxBps > 0 ? { toPeer: createBandwidthBucket(maxBps, nowMs), toClient: createBandwidthBucket(maxBps, nowMs) } : undefined;
}

/** Takes `bytes` from the bucket; false (and nothing taken) when there are not enough. */
export function takeBandwidth(bucket: BandwidthBucket, bytes: number, nowMs: number): boolean {
  const elapsed = nowMs - bucket.refilledAtMs;
  if (elapsed > 0) {
    bucket.tokens = Math.min(bucket.bytesPerSecond, bucket.tokens + (elapsed / 1000) * bucket.bytesPerSecond);
    bucket.refilledAtMs = nowMs;
  }
  if (bucket.tokens < bytes) return false;
  bucket.tokens -= bytes;
  return true;
}

/** Gives back what takeBandwidth took for data that was then not sent (a full send queue): it was not used. */
export function returnBandwidth(bucket: BandwidthBucket, bytes: number): void {
  bucket.tokens = Math.min(bucket.bytesPerSecond, bucket.tokens + bytes);
}
