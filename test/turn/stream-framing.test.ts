import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_STREAM_FRAME, StreamFramer } from "../../src/turn/stream-framing.js";

// A STUN header (Binding request) with `bodyLength` bytes of body after it.
function stunFrame(bodyLength: number, fill = 0xaa): Buffer {
  const frame = Buffer.alloc(20 + bodyLength, fill);
  frame.writeUInt16BE(0x0001, 0);
  frame.writeUInt16BE(bodyLength, 2);
  frame.writeUInt32BE(0x2112a442, 4);
  return frame;
}

// ChannelData as sent over a stream: header, data, padding to a multiple of 4 (RFC 8656 §12.5).
function channelDataFrame(channel: number, dataLength: number): Buffer {
  const frame = Buffer.alloc(4 + ((dataLength + 3) & ~3));
  frame.writeUInt16BE(channel, 0);
  frame.writeUInt16BE(dataLength, 2);
  frame.fill(0x5a, 4, 4 + dataLength);
  return frame;
}

function collect(framer: StreamFramer, chunks: Buffer[]): { frames: Buffer[]; results: string[] } {
  const frames: Buffer[] = [];
  const results = chunks.map((chunk) => framer.push(chunk, (frame) => frames.push(Buffer.from(frame))));
  return { frames, results };
}

describe("StreamFramer (RFC 8656 §12.5)", () => {
  it("pauses where onFrame asks: the chunk's rest is left untouched, and pushed again yields the remaining frames in order", () => {
    const frames = Array.from({ length: 6 }, (_, i) => stunFrame(4, i));
    const framer = new StreamFramer();
    const seen: Buffer[] = [];
    const chunk = Buffer.concat(frames);
    const result = framer.push(chunk, (frame) => {
      seen.push(Buffer.from(frame));
      if (seen.length === 2) framer.pause();
    });
    expect(result).toBe("paused");
    expect(seen).toEqual(frames.slice(0, 2));
    expect(framer.pausedAt).toBe(2 * 24);
    expect(framer.push(chunk.subarray(framer.pausedAt), (frame) => seen.push(Buffer.from(frame)))).toBe("ok");
    expect(seen).toEqual(frames);
  });

  it("pauses on a chunk's last frame too (one frame per chunk, as one request per TLS record gives): nothing is left of the chunk", () => {
    const framer = new StreamFramer();
    const frame = stunFrame(4);
    expect(framer.push(frame, () => framer.pause())).toBe("paused");
    expect(framer.pausedAt).toBe(frame.length);
    const two = Buffer.concat([stunFrame(4, 1), stunFrame(4, 2)]);
    let seen = 0;
    expect(framer.push(two, () => ++seen === 2 && framer.pause())).toBe("paused");
    expect(framer.pausedAt).toBe(two.length);
    // The frame completed from a split uses up the chunk: paused all the same.
    expect(framer.push(frame.subarray(0, 10), () => {})).toBe("ok");
    expect(framer.push(frame.subarray(10), () => framer.pause())).toBe("paused");
    expect(framer.pausedAt).toBe(frame.length - 10);
    // And the next push starts afresh.
    expect(framer.push(frame, () => {})).toBe("ok");
  });

  it("pauses after a frame completed from the previous chunk's split, before any frame of the new chunk", () => {
    const [first, second] = [stunFrame(8, 1), stunFrame(8, 2)];
    const framer = new StreamFramer();
    const seen: Buffer[] = [];
    expect(framer.push(first.subarray(0, 10), () => {})).toBe("ok");
    const chunk = Buffer.concat([first.subarray(10), second]);
    expect(framer.push(chunk, (frame) => (seen.push(Buffer.from(frame)), framer.pause()))).toBe("paused");
    expect(seen).toEqual([first]);
    expect(chunk.subarray(framer.pausedAt)).toEqual(second);
  });

  it("hands out a whole message delivered one byte per write exactly once", () => {
    const message = stunFrame(8);
    const chunks = [...message].map((byte) => Buffer.from([byte]));
    const { frames, results } = collect(new StreamFramer(), chunks);
    expect(results.every((r) => r === "ok")).toBe(true);
    expect(frames).toEqual([message]);
  });

  it("splits STUN + ChannelData + STUN coalesced in one segment, in order, consuming ChannelData padding", () => {
    const framer = new StreamFramer();
    framer.allowChannelData = true;
    const a = stunFrame(4, 1);
    const cd = channelDataFrame(0x4001, 5); // 4 + 5 + 3 padding
    const b = stunFrame(12, 2);
    const { frames } = collect(framer, [Buffer.concat([a, cd, b])]);
    expect(frames).toEqual([a, cd, b]);
    expect(cd.length).toBe(12);
  });

  it("reassembles a header split across segments", () => {
    const message = stunFrame(16);
    const { frames } = collect(new StreamFramer(), [message.subarray(0, 3), message.subarray(3, 9), message.subarray(9)]);
    expect(frames).toEqual([message]);
  });

  it("does not swallow the next frame when a 4-byte ChannelData header arrives split", () => {
    const framer = new StreamFramer();
    framer.allowChannelData = true;
    const empty = channelDataFrame(0x4000, 0);
    const next = stunFrame(0);
    const joined = Buffer.concat([empty, next]);
    const { frames } = collect(framer, [joined.subarray(0, 1), joined.subarray(1)]);
    expect(frames).toEqual([empty, next]);
  });

  it("waits on a declared length larger than what arrived, holding at most one frame", () => {
    const framer = new StreamFramer();
    const header = stunFrame(65532).subarray(0, 20);
    const { frames, results } = collect(framer, [header, Buffer.alloc(1000)]);
    expect(frames).toEqual([]);
    expect(results).toEqual(["ok", "ok"]);
    expect(framer.bufferedBytes).toBe(1020);
    expect(framer.bufferedBytes).toBeLessThanOrEqual(MAX_STREAM_FRAME);
  });

  it("holds only what has arrived of an incomplete frame, and lets a large frame's buffer go once it is whole", () => {
    const framer = new StreamFramer();
    const frame = stunFrame(65532);
    framer.push(frame.subarray(0, 1), () => {});
    expect(framer.heldBytes).toBeLessThanOrEqual(64);
    const frames: Buffer[] = [];
    framer.push(frame.subarray(1, 1000), (f) => frames.push(Buffer.from(f)));
    expect(framer.bufferedBytes).toBe(1000);
    expect(framer.heldBytes).toBeLessThanOrEqual(2048);
    for (let at = 1000; at < frame.length; at += 7000) framer.push(frame.subarray(at, Math.min(at + 7000, frame.length)), (f) => frames.push(Buffer.from(f)));
    expect(frames).toEqual([frame]);
    expect(framer.heldBytes).toBe(0);
    // A small split frame keeps its small buffer for the next one.
    const small = stunFrame(8);
    collect(framer, [small.subarray(0, 5), small.subarray(5)]);
    expect(framer.heldBytes).toBeLessThanOrEqual(64);
  });

  it("keeps one buffer for media-sized frames split across reads, however they grow", () => {
    const framer = new StreamFramer();
    framer.allowChannelData = true;
    const frames: Buffer[] = [];
    const sent = [channelDataFrame(0x4000, 1100), channelDataFrame(0x4001, 1104), channelDataFrame(0x4002, 2044)];
    const held: number[] = [];
    for (const frame of sent) {
      framer.push(frame.subarray(0, 4), (f) => frames.push(Buffer.from(f)));
      framer.push(frame.subarray(4), (f) => frames.push(Buffer.from(f)));
      held.push(framer.heldBytes);
    }
    expect(frames).toEqual(sent);
    // Grown to the first frame, then doubled no further than 2 KiB, and kept.
    expect(held).toEqual([1104, 2048, 2048]);
  });

  it.each([
    ["first byte 0x80", Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0])],
    ["a TLS ClientHello", Buffer.from("160301020001000001fc0303", "hex")],
    ["HTTP text", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
    ["a STUN length that is not a multiple of 4", Buffer.from("000100052112a442", "hex")],
  ])("reports garbage for %s", (_name, bytes) => {
    expect(new StreamFramer().push(bytes, () => {})).toBe("garbage");
  });

  it("treats channel 0x5000 as garbage by default and as ChannelData with RFC 5766 numbers", () => {
    const strict = new StreamFramer();
    strict.allowChannelData = true;
    expect(strict.push(channelDataFrame(0x5000, 4), () => {})).toBe("garbage");
    const lenient = new StreamFramer(0x7fff);
    lenient.allowChannelData = true;
    const frames: Buffer[] = [];
    expect(lenient.push(channelDataFrame(0x7fff, 4), (f) => frames.push(f))).toBe("ok");
    expect(frames.length).toBe(1);
  });

  it("treats ChannelData as garbage on a connection without an allocation", () => {
    expect(new StreamFramer().push(channelDataFrame(0x4000, 4), () => {})).toBe("garbage");
  });

  it("yields the same frames however the stream is cut (property)", () => {
    const frameArb = fc.oneof(
      fc.integer({ min: 0, max: 64 }).map((n) => stunFrame(n * 4)),
      fc.tuple(fc.integer({ min: 0x4000, max: 0x4fff }), fc.integer({ min: 0, max: 300 })).map(([c, n]) => channelDataFrame(c, n)),
    );
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (frames, cuts) => {
        const stream = Buffer.concat(frames);
        const points = [...new Set(cuts.map((c) => c % stream.length))].sort((x, y) => x - y);
        const chunks: Buffer[] = [];
        let last = 0;
        for (const p of [...points, stream.length]) {
          if (p > last) chunks.push(stream.subarray(last, p));
          last = p;
        }
        const framer = new StreamFramer();
        framer.allowChannelData = true;
        const out = collect(framer, chunks);
        expect(out.results.every((r) => r === "ok")).toBe(true);
        expect(out.frames).toEqual(frames);
        expect(framer.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
