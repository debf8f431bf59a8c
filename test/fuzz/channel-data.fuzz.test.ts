// ChannelData (RFC 8656 §12.4) from a client, with an exact oracle: the bound peer gets the payload
// the length field names, or nothing; nothing else moves.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Method } from "../../src/stun/constants.js";
import { channelDataPayload } from "../../src/turn/channel-data.js";
import { createTurnHarness, HarnessClient } from "../helpers/turn-harness.js";
import { fuzzParameters, fuzzTimeout } from "./fuzz-options.js";

const PEER = { family: "IPv4", address: "8.8.8.8", port: 5000 } as const;

describe("ChannelData from a client (RFC 8656 §12.4)", () => {
  it(
    "channelDataPayload: the bytes the length field names, as a view, or undefined when they did not all arrive",
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 80 }), (array) => {
          const bytes = Buffer.from(array);
          const payload = channelDataPayload(bytes);
          if (bytes.length < 4 || 4 + bytes.readUInt16BE(2) > bytes.length) {
            expect(payload).toBeUndefined();
            return;
          }
          expect(payload).toEqual(bytes.subarray(4, 4 + bytes.readUInt16BE(2)));
          expect(payload!.buffer).toBe(bytes.buffer);
        }),
        fuzzParameters(500),
      );
    },
    fuzzTimeout(),
  );

  it(
    "through the UDP handler: only a bound channel with a complete payload reaches the peer, exactly that payload",
    async () => {
      const h = createTurnHarness();
      const client = new HarnessClient(h);
      await client.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }]);
      const bound = await client.request(Method.ChannelBind, [
        { name: "CHANNEL-NUMBER", value: 0x4001 },
        { name: "XOR-PEER-ADDRESS", value: PEER },
      ]);
      expect(bound.messageClass).toBe(2);
      const relay = h.relays.sockets[0]!;
      const datagram = fc
        .record({
          channel: fc.oneof(fc.constantFrom(0x4000, 0x4001, 0x4001, 0x4002, 0x4fff, 0x5000, 0x7fff, 0x3fff), fc.integer({ min: 0, max: 0xffff })),
          declared: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined, freq: 2 }),
          payload: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
          // Cut to 1, 2 or 3 bytes: shorter than the header.
          cut: fc.option(fc.constantFrom(1, 2, 3), { nil: undefined, freq: 8 }),
        })
        .map(({ channel, declared, payload, cut }) => {
          const bytes = Buffer.concat([Buffer.alloc(4), payload]);
          bytes.writeUInt16BE(channel, 0);
          bytes.writeUInt16BE(declared ?? payload.length, 2);
          return cut === undefined ? bytes : bytes.subarray(0, cut);
        });
      await fc.assert(
        fc.asyncProperty(datagram, async (bytes) => {
          const sentBefore = relay.sent.length;
          const answers = await client.sendRaw(bytes);
          expect(answers).toEqual([]);
          const relayed = relay.sent.slice(sentBefore);
          const complete = bytes.length >= 4 && 4 + bytes.readUInt16BE(2) <= bytes.length;
          if (complete && bytes.readUInt16BE(0) === 0x4001) {
            expect(relayed).toEqual([{ data: bytes.subarray(4, 4 + bytes.readUInt16BE(2)), address: PEER.address, port: PEER.port }]);
          } else {
            expect(relayed).toEqual([]);
          }
          expect(h.log.errors()).toEqual([]);
        }),
        fuzzParameters(500),
      );
    },
    fuzzTimeout(),
  );
});
