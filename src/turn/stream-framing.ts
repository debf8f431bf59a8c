import { MAGIC_COOKIE, HEADER_LENGTH } from "../stun/constants.js";

// RFC 8656 §12.5: over TCP/TLS a ChannelData message is padded to a multiple of 4.
const CHANNEL_DATA_HEADER = 4;
// The largest frame either kind can declare: STUN 20 + 65532, ChannelData 4 + 65535 + 1 padding.
export const MAX_STREAM_FRAME = HEADER_LENGTH + 65532;

const INCOMPLETE = -1;
const GARBAGE = -2;

function headerBytesNeeded(first: number): number {
  return (first & 0xc0) === 0 ? 8 : CHANNEL_DATA_HEADER;
}

export type FramerResult = "ok" | "garbage";

/**
 * Splits a TCP/TLS byte stream into STUN messages and ChannelData frames (RFC 8656 §12.5).
 * Frames wholly inside a chunk are handed out as views; only a frame split across chunks is
 * reassembled, in one buffer of at most MAX_STREAM_FRAME bytes, and handed out as a copy.
 */
export class StreamFramer {
  /** ChannelData is only meaningful on a connection that holds an allocation; otherwise it is garbage. */
  allowChannelData = false;
  private readonly lastChannelDataByte: number;

  /** `maxChannelNumber`: 0x4FFF (RFC 8656 §12) or 0x7FFF (RFC 5766 clients). */
  constructor(maxChannelNumber = 0x4fff) {
    this.lastChannelDataByte = maxChannelNumber >> 8;
  }
  private partial: Buffer | undefined;
  private partialLength = 0;

  get bufferedBytes(): number {
    return this.partialLength;
  }

  push(chunk: Buffer, onFrame: (frame: Buffer) => void): FramerResult {
    let offset = 0;
    if (this.partialLength > 0) {
      offset = this.fillPartial(chunk, onFrame);
      if (offset < 0) return "garbage";
      if (this.partialLength > 0) return "ok";
    }
    while (offset < chunk.length) {
      const available = chunk.length - offset;
      const length = this.frameLength(chunk, offset, available);
      if (length === GARBAGE) return "garbage";
      if (length === INCOMPLETE || length > available) {
        this.stash(chunk, offset, chunk.length);
        return "ok";
      }
      onFrame(chunk.subarray(offset, offset + length));
      offset += length;
    }
    return "ok";
  }

  /** Completes the reassembled frame from `chunk`; returns how much of `chunk` it used, or -1 for garbage. */
  private fillPartial(chunk: Buffer, onFrame: (frame: Buffer) => void): number {
    const partial = this.partial!;
    let offset = 0;
    for (;;) {
      const length = this.frameLength(partial, 0, this.partialLength);
      if (length === GARBAGE) return -1;
      // Header not yet complete: take just enough to read it, never a byte of the next frame.
      const target = length === INCOMPLETE ? headerBytesNeeded(partial[0]!) : length;
      const take = Math.min(target - this.partialLength, chunk.length - offset);
      chunk.copy(partial, this.partialLength, offset, offset + take);
      this.partialLength += take;
      offset += take;
      if (this.partialLength < target) return offset;
      if (length !== INCOMPLETE) {
        this.partialLength = 0;
        onFrame(Buffer.from(partial.subarray(0, length)));
        return offset;
      }
    }
  }

  private stash(chunk: Buffer, from: number, to: number): void {
    this.partial ??= Buffer.allocUnsafe(MAX_STREAM_FRAME);
    chunk.copy(this.partial, 0, from, to);
    this.partialLength = to - from;
  }

  private frameLength(bytes: Buffer, offset: number, available: number): number {
    const first = bytes[offset]!;
    if ((first & 0xc0) === 0) {
      // STUN: wait for the cookie so a TLS ClientHello (0x16 ...) is recognised as garbage early.
      if (available < 8) return INCOMPLETE;
      if (bytes.readUInt32BE(offset + 4) !== MAGIC_COOKIE) return GARBAGE;
      const bodyLength = bytes.readUInt16BE(offset + 2);
      if (bodyLength % 4 !== 0) return GARBAGE;
      return HEADER_LENGTH + bodyLength;
    }
    if (first >= 0x40 && first <= this.lastChannelDataByte && this.allowChannelData) {
      if (available < CHANNEL_DATA_HEADER) return INCOMPLETE;
      const dataLength = bytes.readUInt16BE(offset + 2);
      return CHANNEL_DATA_HEADER + ((dataLength + 3) & ~3);
    }
    return GARBAGE;
  }
}
