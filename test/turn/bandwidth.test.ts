import { describe, expect, it } from "vitest";
import { Method } from "../../src/stun/constants.js";
import { createBandwidthBucket, takeBandwidth } from "../../src/turn/bandwidth.js";
import { effectiveTotalQuota } from "../../src/turn/quota.js";
import { createTurnHarness, HarnessClient } from "../helpers/turn-harness.js";
import { channelData } from "../helpers/turn-messages.js";

describe("max-bps token bucket", () => {
  it("allows one second's worth at once, then the rate, and never goes into debt", () => {
    const bucket = createBandwidthBucket(1000, 0);
    expect(takeBandwidth(bucket, 600, 0)).toBe(true);
    expect(takeBandwidth(bucket, 600, 0)).toBe(false); // not taken: 400 left
    expect(takeBandwidth(bucket, 400, 0)).toBe(true);
    expect(takeBandwidth(bucket, 100, 50)).toBe(false); // 50 ms refill 50 bytes
    expect(takeBandwidth(bucket, 100, 100)).toBe(true);
    expect(takeBandwidth(bucket, 1000, 60_000)).toBe(true); // capped at one second's worth
    expect(takeBandwidth(bucket, 1, 60_000)).toBe(false);
  });

  it("bps-capacity lowers total-quota: each allocation reserves max-bps", () => {
    expect(effectiveTotalQuota({ totalQuota: 100, maxBps: 1000, bpsCapacity: 2500 })).toBe(2);
    expect(effectiveTotalQuota({ totalQuota: 1, maxBps: 1000, bpsCapacity: 2500 })).toBe(1);
    expect(effectiveTotalQuota({ totalQuota: 100, maxBps: 0, bpsCapacity: 0 })).toBe(100);
  });
});

describe("max-bps on the relay path (each direction on its own, as coturn counts it)", () => {
  it("drops what exceeds the rate in a direction, counts it, and lets traffic through again as the bucket refills", async () => {
    const h = createTurnHarness({ turn: { maxBps: 1000 } });
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }]);
    await client.request(Method.ChannelBind, [
      { name: "CHANNEL-NUMBER", value: 0x4000 },
      { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "8.8.8.8", port: 5000 } },
    ]);
    const relay = h.relays.sockets[0]!;
    client.link.take();
    // Client to peer: five 200-byte payloads empty its bucket; the sixth is dropped.
    for (let i = 0; i < 6; i++) await client.sendRaw(channelData(0x4000, Buffer.alloc(200)));
    expect(relay.sent).toHaveLength(5);
    expect(h.deps.counters.bandwidthDroppedPackets).toBe(1);
    // Peer to client has a bucket of its own, untouched by the other direction: five go, the sixth not.
    for (let i = 0; i < 6; i++) relay.receive(Buffer.alloc(200), "8.8.8.8", 5000);
    expect(client.link.take()).toHaveLength(5);
    expect(h.deps.counters.bandwidthDroppedPackets).toBe(2);
    h.clock.advance(500); // 500 bytes back in each
    await client.sendRaw(channelData(0x4000, Buffer.alloc(200)));
    relay.receive(Buffer.alloc(200), "8.8.8.8", 5000);
    expect(relay.sent).toHaveLength(6);
    expect(client.link.take()).toHaveLength(1);
  });

  describe("charges only what is sent: data dropped for a full send queue leaves the bucket as it was", () => {
    const PEER = { family: "IPv4", address: "8.8.8.8", port: 5000 } as const;

    async function allocated(): Promise<{ h: ReturnType<typeof createTurnHarness>; client: HarnessClient }> {
      const h = createTurnHarness({ turn: { maxBps: 1000 } });
      const client = new HarnessClient(h);
      await client.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }]);
      return { h, client };
    }

    it("ChannelData from the client", async () => {
      const { h, client } = await allocated();
      await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, { name: "XOR-PEER-ADDRESS", value: PEER }]);
      const relay = h.relays.sockets[0]!;
      relay.queueFull = true;
      for (let i = 0; i < 5; i++) await client.sendRaw(channelData(0x4000, Buffer.alloc(200)));
      relay.queueFull = false;
      for (let i = 0; i < 5; i++) await client.sendRaw(channelData(0x4000, Buffer.alloc(200)));
      expect(relay.sent).toHaveLength(5);
      expect(h.deps.counters.droppedPackets).toBe(5);
      expect(h.deps.counters.bandwidthDroppedPackets).toBe(0);
    });

    it("a Send indication", async () => {
      const { h, client } = await allocated();
      await client.request(Method.CreatePermission, [{ name: "XOR-PEER-ADDRESS", value: PEER }]);
      const relay = h.relays.sockets[0]!;
      relay.queueFull = true;
      const send = () => client.sendRaw(client.builder.indication(Method.Send, [{ name: "XOR-PEER-ADDRESS", value: PEER }, { name: "DATA", value: Buffer.alloc(200) }]));
      for (let i = 0; i < 5; i++) await send();
      relay.queueFull = false;
      for (let i = 0; i < 5; i++) await send();
      expect(relay.sent).toHaveLength(5);
      expect(h.deps.counters.bandwidthDroppedPackets).toBe(0);
    });

    it.each([
      { as: "ChannelData", channel: true },
      { as: "a Data indication", channel: false },
    ])("data from the peer, as $as", async ({ channel }) => {
      const { h, client } = await allocated();
      if (channel) await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, { name: "XOR-PEER-ADDRESS", value: PEER }]);
      else await client.request(Method.CreatePermission, [{ name: "XOR-PEER-ADDRESS", value: PEER }]);
      const relay = h.relays.sockets[0]!;
      client.link.take();
      client.link.queueFull = true;
      for (let i = 0; i < 5; i++) relay.receive(Buffer.alloc(200), PEER.address, PEER.port);
      client.link.queueFull = false;
      for (let i = 0; i < 5; i++) relay.receive(Buffer.alloc(200), PEER.address, PEER.port);
      expect(client.link.take()).toHaveLength(5);
      expect(h.deps.counters.droppedPackets).toBe(5);
      expect(h.deps.counters.bandwidthDroppedPackets).toBe(0);
    });
  });

  it("leaves allocations unlimited with max-bps 0", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }]);
    await client.request(Method.ChannelBind, [
      { name: "CHANNEL-NUMBER", value: 0x4000 },
      { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "8.8.8.8", port: 5000 } },
    ]);
    for (let i = 0; i < 50; i++) await client.sendRaw(channelData(0x4000, Buffer.alloc(1200)));
    expect(h.relays.sockets[0]!.sent).toHaveLength(50);
  });
});
