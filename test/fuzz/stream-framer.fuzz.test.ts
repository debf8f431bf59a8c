// The TCP/TLS framer (RFC 8656 §12.5) against a reference reading of the whole stream at once: any
// bytes, cut anywhere, give the same frames in the same order, the same verdict, and bounded memory.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAGIC_COOKIE } from "../../src/stun/constants.js";
import { MAX_STREAM_FRAME, StreamFramer, type FramerResult } from "../../src/turn/stream-framing.js";
import { fuzzParameters, fuzzTimeout } from "./fuzz-options.js";
import { VECTORS } from "./turn-commands.js";

/** The stream read in one go: whole frames in order, then "garbage" or how many bytes wait for more. */
function reference(stream: Buffer, allowChannelData: boolean, lastChannelDataByte: number): { frames: Buffer[]; garbage: boolean; waiting: number } {
  const frames: Buffer[] = [];
  for (let offset = 0; offset < stream.length; ) {
    const available = stream.length - offset;
    const first = stream[offset]!;
    let length: number;
    if ((first & 0xc0) === 0) {
      if (available < 8) return { frames, garbage: false, waiting: available };
      if (stream.readUInt32BE(offset + 4) !== MAGIC_COOKIE) return { frames, garbage: true, waiting: 0 };
      const body = stream.readUInt16BE(offset + 2);
      if (body % 4 !== 0) return { frames, garbage: true, waiting: 0 };
      length = 20 + body;
    } else if (allowChannelData && first >= 0x40 && first <= lastChannelDataByte) {
      if (available < 4) return { frames, garbage: false, waiting: available };
      length = 4 + ((stream.readUInt16BE(offset + 2) + 3) & ~3);
    } else {
      return { frames, garbage: true, waiting: 0 };
    }
    if (length > available) return { frames, garbage: false, waiting: available };
    frames.push(stream.subarray(offset, offset + length));
    offset += length;
  }
  return { frames, garbage: false, waiting: 0 };
}

const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const stunFrame = fc.tuple(fc.integer({ min: 0, max: 40 }), bytes(12)).map(([words, id]) => {
  const frame = Buffer.alloc(20 + words * 4, 0x61);
  frame.writeUInt16BE(0x0001, 0);
  frame.writeUInt16BE(words * 4, 2);
  frame.writeUInt32BE(MAGIC_COOKIE, 4);
  id.copy(frame, 8, 0, Math.min(12, id.length));
  return frame;
});
const channelDataFrame = fc.tuple(fc.integer({ min: 0x4000, max: 0x7fff }), fc.integer({ min: 0, max: 70 })).map(([channel, length]) => {
  const frame = Buffer.alloc(4 + ((length + 3) & ~3), 0x62);
  frame.writeUInt16BE(channel, 0);
  frame.writeUInt16BE(length, 2);
  return frame;
});
/** A header promising the largest frame, and only part of it. */
const giantStart = fc.tuple(fc.constantFrom(0x0001, 0x4001), fc.integer({ min: 0, max: 300 })).map(([type, extra]) => {
  const frame = Buffer.alloc(8 + extra, 0x63);
  frame.writeUInt16BE(type, 0);
  frame.writeUInt16BE(type === 0x0001 ? 65532 : 65535, 2);
  frame.writeUInt32BE(MAGIC_COOKIE, 4);
  return frame;
});
const piece = fc.oneof(
  { weight: 4, arbitrary: stunFrame },
  { weight: 3, arbitrary: channelDataFrame },
  { weight: 1, arbitrary: fc.constantFrom(...VECTORS) },
  { weight: 1, arbitrary: bytes(24) },
  { weight: 1, arbitrary: giantStart },
);
/** Valid frames mostly, with a byte overwritten now and then: the garbage lands anywhere. */
const stream = fc
  .tuple(fc.array(piece, { minLength: 1, maxLength: 10 }), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 2 }))
  .map(([pieces, writes]) => {
    const out = Buffer.concat(pieces);
    for (const [at, value] of writes) if (out.length > 0) out[at % out.length] = value;
    return out;
  });

describe("StreamFramer on hostile streams (RFC 8656 §12.5)", () => {
  it(
    "any bytes cut anywhere: the reference's frames in order, garbage exactly where it starts, every byte either handed out or held, never more than one frame held",
    () => {
      fc.assert(
        fc.property(
          stream,
          fc.array(fc.nat(), { maxLength: 16 }),
          fc.boolean(),
          fc.constantFrom(0x4fff, 0x7fff),
          fc.integer({ min: 0, max: 3 }),
          (bytesIn, cuts, allowChannelData, maxChannelNumber, pauseEvery) => {
            const framer = new StreamFramer(maxChannelNumber);
            framer.allowChannelData = allowChannelData;
            const expected = reference(bytesIn, allowChannelData, maxChannelNumber >> 8);
            const points = [...new Set(cuts.map((c) => c % (bytesIn.length + 1)))].sort((a, b) => a - b);
            const frames: Buffer[] = [];
            // Paused every pauseEvery frames (never with 0), the rest of the chunk pushed again, as the listener does.
            let pauseAsked = false;
            const onFrame = (frame: Buffer): void => {
              frames.push(Buffer.from(frame));
              if (pauseEvery > 0 && frames.length % pauseEvery === 0) {
                framer.pause();
                pauseAsked = true;
              }
            };
            let verdict: FramerResult = "ok";
            let from = 0;
            for (const to of [...points, bytesIn.length]) {
              if (to <= from) continue;
              let chunk = bytesIn.subarray(from, to);
              // Every round but the last hands out a frame: one more round than the chunk has bytes is enough.
              for (let rounds = 0, most = chunk.length + 1; rounds < most; rounds++) {
                pauseAsked = false;
                verdict = framer.push(chunk, onFrame);
                // A pause asked for is always honoured, whichever frame of the chunk asked.
                expect(verdict === "paused").toBe(pauseAsked);
                if (verdict !== "paused") break;
                chunk = chunk.subarray(framer.pausedAt);
              }
              expect(framer.bufferedBytes).toBeLessThanOrEqual(MAX_STREAM_FRAME);
              from = to;
              if (verdict === "garbage") break; // the listener closes the connection here
            }
            expect(frames).toEqual(expected.frames);
            expect(verdict).toBe(expected.garbage ? "garbage" : "ok");
            if (!expected.garbage) {
              expect(framer.bufferedBytes).toBe(expected.waiting);
              expect(frames.reduce((n, f) => n + f.length, 0) + framer.bufferedBytes).toBe(bytesIn.length);
            }
          },
        ),
        fuzzParameters(800),
      );
    },
    fuzzTimeout(),
  );

  it(
    "a connection that gains an allocation mid-stream: ChannelData after the switch is framed, before it is garbage",
    () => {
      fc.assert(
        fc.property(fc.array(stunFrame, { maxLength: 4 }), fc.array(fc.oneof(stunFrame, channelDataFrame), { maxLength: 6 }), fc.nat(), (before, after, cut) => {
          const framer = new StreamFramer(0x7fff);
          const frames: Buffer[] = [];
          const head = Buffer.concat(before);
          const tail = Buffer.concat(after);
          expect(framer.push(head, (f) => frames.push(Buffer.from(f)))).toBe("ok");
          framer.allowChannelData = true; // the Allocate succeeded
          const at = cut % (tail.length + 1);
          expect(framer.push(tail.subarray(0, at), (f) => frames.push(Buffer.from(f)))).toBe("ok");
          expect(framer.push(tail.subarray(at), (f) => frames.push(Buffer.from(f)))).toBe("ok");
          expect(frames).toEqual([...before, ...after]);
          expect(framer.bufferedBytes).toBe(0);
        }),
        fuzzParameters(300),
      );
    },
    fuzzTimeout(),
  );
});
