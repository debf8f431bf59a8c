/**
 * Heads of frames sent in parts (a ChannelData header, a Data indication's head): one buffer per
 * length, reused from packet to packet. A datagram that leaves at once has been copied by the
 * kernel; one that has to wait in the socket's queue still reads its head, so that head is given up
 * to it and a new one made for the next packet.
 */
export class FrameHeads {
  private readonly byLength: (Buffer | undefined)[] = [];

  /** A buffer of exactly `length` bytes, to write now and send right after. */
  take(length: number): Buffer {
    return (this.byLength[length] ??= Buffer.alloc(length));
  }

  /** After sending `head`: `queued` when the send waits in the socket's queue (and still reads it). */
  sent(head: Buffer, queued: boolean): void {
    if (queued && this.byLength[head.length] === head) this.byLength[head.length] = undefined;
  }
}
