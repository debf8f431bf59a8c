// Splits what a TURN server sends over TCP into STUN messages and ChannelData frames (RFC 8656 §12.5).
// The bench's own small framer: it trusts the server, which is what a load generator may do.

const CHANNEL_DATA_HEADER = 4;
const STUN_HEADER = 20;

export class StreamFrames {
  private pending: Buffer | undefined;

  /** Calls `onFrame` with each complete frame, as a view; ChannelData frames include their padding. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    const bytes = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let offset = 0;
    while (bytes.length - offset >= CHANNEL_DATA_HEADER) {
      const declared = bytes.readUInt16BE(offset + 2);
      const isStun = (bytes[offset]! & 0xc0) === 0;
      const length = isStun ? STUN_HEADER + declared : CHANNEL_DATA_HEADER + ((declared + 3) & ~3);
      if (bytes.length - offset < length) break;
      onFrame(bytes.subarray(offset, offset + length));
      offset += length;
    }
    if (offset < bytes.length) this.pending = bytes.subarray(offset);
  }
}
