import { MAGIC_COOKIE, HEADER_LENGTH } from "../stun/constants.js";

// RFC 8656 §12.5: over TCP/TLS a ChannelData message is padded to a multiple of 4.
const CHANNEL_DATA_HEADER = 4;
// The largest frame either kind can declare: STUN 20 + 65532, ChannelData 4 + 65535 + 1 padding.
export const MAX_STREAM_FRAME = HEADER_LENGTH + 65532;

const INCOMPLETE = -1;
const GARBAGE = -2;
/** A frame's first bytes are held in this much; it grows (doubling) only as more of the frame arrives. */
const SMALL_STASH = 64;
/** Kept between frames up to this size (a media packet's frame), so splits in a flood do not allocate each time. */
const KEPT_STASH = 2048;

function headerBytesNeeded(first: number): number {
  return (first & 0xc0) === 0 ? 8 : CHANNEL_DATA_HEADER;
}

/** "paused": pause() was called from onFrame; the chunk's bytes from `pausedAt` on (none when that is its length) were not looked at. */
export type FramerResult = "ok" | "garbage" | "paused";

/**
 * Splits a TCP/TLS byte stream into STUN messages and ChannelData frames (RFC 8656 §12.5).
 * Frames wholly inside a chunk are handed out as views; only a frame split across chunks is
 * reassembled, in one buffer of at most MAX_STREAM_FRAME bytes. That buffer holds what has arrived,
 * not what the frame declares (a connection that sends one byte and waits costs 64 bytes, not 64 KiB);
 * one of up to KEPT_STASH bytes is kept for the next split frame and its frame handed out as a copy,
 * a larger one is handed out as the frame itself.
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
  private pauseRequested = false;
  /** After push() returned "paused": where in its chunk the next frame starts. */
  pausedAt = 0;

  /** Called from onFrame: push() hands out no more frames of its chunk, and returns "paused". */
  pause(): void {
    this.pauseRequested = true;
  }

  get bufferedBytes(): number {
    return this.partialLength;
  }

  /** Memory the framer holds for reassembly (a buffer kept for the next split frame included); 0 when none. */
  get heldBytes(): number {
    return this.partial?.length ?? 0;
  }

  push(chunk: Buffer, onFrame: (frame: Buffer) => void): FramerResult {
    let offset = 0;
    this.pauseRequested = false;
    if (this.partialLength > 0) {
      offset = this.fillPartial(chunk, onFrame);
      if (offset < 0) return "garbage";
      if (this.partialLength > 0) return "ok";
    }
    while (!this.pauseRequested && offset < chunk.length) {
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
    // Asked for on the chunk's last frame too: one frame per chunk (a TLS record each) is as common.
    if (this.pauseRequested) {
      this.pausedAt = offset;
      return "paused";
    }
    return "ok";
  }

  /** Completes the reassembled frame from `chunk`; returns how much of `chunk` it used, or -1 for garbage. */
  private fillPartial(chunk: Buffer, onFrame: (frame: Buffer) => void): number {
    let partial = this.partial!;
    let offset = 0;
    for (;;) {
      const length = this.frameLength(partial, 0, this.partialLength);
      if (length === GARBAGE) return -1;
      // Header not yet complete: take just enough to read it, never a byte of the next frame.
      const target = length === INCOMPLETE ? headerBytesNeeded(partial[0]!) : length;
      const take = Math.min(target - this.partialLength, chunk.length - offset);
      if (this.partialLength + take > partial.length) partial = this.grow(this.partialLength + take);
      chunk.copy(partial, this.partialLength, offset, offset + take);
      this.partialLength += take;
      offset += take;
      if (this.partialLength < target) return offset;
      if (length !== INCOMPLETE) {
        this.partialLength = 0;
        if (partial.length > KEPT_STASH) {
          // A large frame's buffer is not kept for the connection's life: it goes out as the frame itself.
          this.partial = undefined;
          onFrame(partial.subarray(0, length));
        } else {
          onFrame(Buffer.from(partial.subarray(0, length)));
        }
        return offset;
      }
    }
  }

  /**
   * Only what has arrived is held: a frame's buffer grows to its declared length as its bytes come.
   * Its memory is its own (not a slice of Node's shared pool, which one small stash would keep alive).
   */
  private stash(chunk: Buffer, from: number, to: number): void {
    if (this.partial === undefined || this.partial.length < to - from) this.partial = Buffer.allocUnsafeSlow(Math.max(to - from, SMALL_STASH));
    chunk.copy(this.partial, 0, from, to);
    this.partialLength = to - from;
  }

  private grow(size: number): Buffer {
    // Doubling stops at KEPT_STASH for a frame that fits in it, so that buffer is kept for the next.
    const cap = size <= KEPT_STASH ? KEPT_STASH : MAX_STREAM_FRAME;
    const next = Buffer.allocUnsafeSlow(Math.min(cap, Math.max(size, this.partial!.length * 2)));
    this.partial!.copy(next, 0, 0, this.partialLength);
    return (this.partial = next);
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
