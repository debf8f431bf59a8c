import { describe, expect, it } from "vitest";
import { getAttribute } from "../../../src/stun/attributes/registry.js";
import { Method, MessageClass } from "../../../src/stun/constants.js";
import { channelCount } from "../../../src/turn/allocation.js";
import { findAllocation } from "../../../src/turn/allocation-table.js";
import { parseIpRange } from "../../../src/turn/ip-range.js";
import { FakeLink } from "../../helpers/fakes.js";
import { createTurnHarness, HarnessClient, type TurnHarness } from "../../helpers/turn-harness.js";
import { channelData, decode, errorCode } from "../../helpers/turn-messages.js";

const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;
const PEER = { family: "IPv4", address: "8.8.8.8", port: 5000 } as const;
const OTHER = { family: "IPv4", address: "1.1.1.1", port: 6000 } as const;
const peerAttr = (peer: { family: "IPv4" | "IPv6"; address: string; port: number }) => ({ name: "XOR-PEER-ADDRESS" as const, value: peer });

async function allocated(h: TurnHarness = createTurnHarness()) {
  const client = new HarnessClient(h);
  await client.request(Method.Allocate, [UDP]);
  return { h, client, relay: h.relays.sockets[0]! };
}

describe("CreatePermission (RFC 8656 §10)", () => {
  it("answers 400 without XOR-PEER-ADDRESS and 437 without an allocation", async () => {
    const { client } = await allocated();
    expect(errorCode(await client.request(Method.CreatePermission))).toBe(400);
    const h = createTurnHarness();
    expect(errorCode(await new HarnessClient(h).request(Method.CreatePermission, [peerAttr(PEER)]))).toBe(437);
  });

  it("installs permissions for several peers at once; data from them reaches the client as Data indications", async () => {
    const { client, relay } = await allocated();
    const response = await client.request(Method.CreatePermission, [peerAttr(PEER), peerAttr(OTHER)]);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    relay.receive(Buffer.from("hello"), PEER.address, 9999); // permission is per IP: any port
    const [indication] = client.link.take();
    const message = decode(indication!.data);
    expect(message.method).toBe(Method.Data);
    expect(getAttribute(message, "XOR-PEER-ADDRESS")).toEqual({ ...PEER, port: 9999 });
    expect(getAttribute(message, "DATA")?.toString()).toBe("hello");
  });

  it("is all or nothing: one denied peer fails the request with 403 and installs none", async () => {
    const { h, client, relay } = await allocated();
    const response = await client.request(Method.CreatePermission, [peerAttr(PEER), peerAttr({ family: "IPv4", address: "10.1.2.3", port: 1 })]);
    expect(errorCode(response)).toBe(403);
    relay.receive(Buffer.from("x"), PEER.address, PEER.port);
    expect(client.link.take()).toEqual([]);
    expect(h.deps.counters.droppedPackets).toBe(1);
  });

  it("answers 443 for a peer of a family the allocation has no relayed address for", async () => {
    const { client } = await allocated();
    expect(errorCode(await client.request(Method.CreatePermission, [peerAttr({ family: "IPv6", address: "2606:4700::1111", port: 1 })]))).toBe(443);
  });

  it("answers 508 past the permissions-per-allocation cap", async () => {
    const { client } = await allocated(createTurnHarness({ turn: { maxPermissionsPerAllocation: 1 } }));
    expect((await client.request(Method.CreatePermission, [peerAttr(PEER)])).messageClass).toBe(MessageClass.SuccessResponse);
    expect(errorCode(await client.request(Method.CreatePermission, [peerAttr(OTHER)]))).toBe(508);
    // Refreshing an existing permission is not a new one.
    expect((await client.request(Method.CreatePermission, [peerAttr(PEER)])).messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("counts a new peer named twice in one request (ports aside) as one permission against the cap", async () => {
    const { client } = await allocated(createTurnHarness({ turn: { maxPermissionsPerAllocation: 2 } }));
    expect((await client.request(Method.CreatePermission, [peerAttr(PEER)])).messageClass).toBe(MessageClass.SuccessResponse);
    const twice = [peerAttr(OTHER), peerAttr({ ...OTHER, port: OTHER.port + 1 })];
    expect((await client.request(Method.CreatePermission, twice)).messageClass).toBe(MessageClass.SuccessResponse);
    // Two distinct new peers still do not fit in the one slot left before the second request.
    const { client: full } = await allocated(createTurnHarness({ turn: { maxPermissionsPerAllocation: 2 } }));
    expect((await full.request(Method.CreatePermission, [peerAttr(PEER)])).messageClass).toBe(MessageClass.SuccessResponse);
    expect(errorCode(await full.request(Method.CreatePermission, [peerAttr(OTHER), peerAttr({ family: "IPv4", address: "9.9.9.9", port: 1 })]))).toBe(508);
  });

  it("expires a permission after 300 s; traffic does not refresh it, CreatePermission does", async () => {
    const { h, client, relay } = await allocated();
    await client.request(Method.CreatePermission, [peerAttr(PEER)]);
    h.clock.advance(200_000);
    // Send and inbound data at 200 s do not extend the permission (§9).
    h.handle(client.builder.indication(Method.Send, [peerAttr(PEER), { name: "DATA", value: Buffer.from("a") }]), client.address, client.port, client.link);
    relay.receive(Buffer.from("b"), PEER.address, PEER.port);
    client.link.take();
    h.clock.advance(100_000);
    h.service.sweep();
    relay.receive(Buffer.from("late"), PEER.address, PEER.port);
    expect(client.link.take()).toEqual([]);
    await client.request(Method.CreatePermission, [peerAttr(PEER)]);
    relay.receive(Buffer.from("again"), PEER.address, PEER.port);
    expect(client.link.take().length).toBe(1);
  });
});

describe("Send indication (RFC 8656 §11.2) and Data (§11.3)", () => {
  it("relays DATA to a permitted peer and drops it for a peer without a permission", async () => {
    const { h, client, relay } = await allocated();
    await client.request(Method.CreatePermission, [peerAttr(PEER)]);
    h.handle(client.builder.indication(Method.Send, [peerAttr(PEER), { name: "DATA", value: Buffer.from("to peer") }]), client.address, client.port, client.link);
    h.handle(client.builder.indication(Method.Send, [peerAttr(OTHER), { name: "DATA", value: Buffer.from("nope") }]), client.address, client.port, client.link);
    expect(relay.sent).toEqual([{ data: Buffer.from("to peer"), address: PEER.address, port: PEER.port }]);
    expect(client.link.take()).toEqual([]); // indications are never answered
  });

  it("sends each of interleaved Sends to its own peer and port", async () => {
    const { h, client, relay } = await allocated();
    await client.request(Method.CreatePermission, [peerAttr(PEER), peerAttr(OTHER)]);
    const to = [PEER, PEER, OTHER, { ...PEER, port: 5001 }, OTHER, PEER];
    to.forEach((peer, i) =>
      h.handle(client.builder.indication(Method.Send, [peerAttr(peer), { name: "DATA", value: Buffer.from(`#${i}`) }]), client.address, client.port, client.link),
    );
    expect(relay.sent).toEqual(to.map((peer, i) => ({ data: Buffer.from(`#${i}`), address: peer.address, port: peer.port })));
    expect(h.deps.counters.relay.udp.clientToPeerPackets).toBe(to.length);
  });

  it("drops a Send without an allocation, without DATA, or to one of our own endpoints", async () => {
    // 192.0.2.10 is allowed as a peer here, so that only its port 3478 (an endpoint of ours) refuses the Send.
    const OURS = { family: "IPv4", address: "192.0.2.10", port: 3478 } as const;
    const h = createTurnHarness({ policy: { allowedPeerRanges: [parseIpRange("192.0.2.10")] } });
    const stranger = new HarnessClient(h);
    const send = (from: HarnessClient, peer: { family: "IPv4"; address: string; port: number }, data?: string) =>
      h.handle(
        from.builder.indication(Method.Send, [peerAttr(peer), ...(data === undefined ? [] : [{ name: "DATA" as const, value: Buffer.from(data) }])]),
        from.address,
        from.port,
        from.link,
      );
    send(stranger, PEER, "no allocation");
    expect(h.deps.counters.droppedPackets).toBe(1);
    const { client, relay } = await allocated(h);
    const permitted = await client.request(Method.CreatePermission, [peerAttr(PEER), peerAttr(OURS)]);
    expect(permitted.messageClass).toBe(MessageClass.SuccessResponse);
    send(client, PEER);
    send(client, OURS, "to our listener");
    expect(relay.sent).toEqual([]);
    expect(h.deps.counters.droppedPackets).toBe(3);
    // The same permissions relay a Send with DATA to that peer, and to another port of that address.
    send(client, PEER, "a");
    send(client, { ...OURS, port: 4000 }, "b");
    expect(relay.sent).toEqual([
      { data: Buffer.from("a"), address: PEER.address, port: PEER.port },
      { data: Buffer.from("b"), address: OURS.address, port: 4000 },
    ]);
    expect(h.deps.counters.droppedPackets).toBe(3);
  });

  it.each([
    ["an IPv4 client", new FakeLink(), "198.51.100.7", ["v4 plain"]],
    ["an IPv6 client", new FakeLink("udp", "IPv6", "2001:db8::10"), "2001:db8::7", ["v4 with DF", "v4 plain"]],
  ] as const)("DONT-FRAGMENT from %s: dropped only from IPv4 to IPv4 (no DF bit through dgram), ignored for every other pair of families (§13)", async (_, link, address, relayedToV4) => {
    const h = createTurnHarness();
    const client = new HarnessClient(h, link, address);
    await client.request(Method.Allocate, [UDP, { name: "ADDITIONAL-ADDRESS-FAMILY", value: 2 }]);
    const PEER6 = { family: "IPv6", address: "2001:4860:4860::8888", port: 5000 } as const;
    await client.request(Method.CreatePermission, [peerAttr(PEER)]);
    await client.request(Method.CreatePermission, [peerAttr(PEER6)]);
    const [relay4, relay6] = h.relays.sockets;
    const send = (peer: typeof PEER | typeof PEER6, text: string, dontFragment: boolean) =>
      h.handle(
        client.builder.indication(Method.Send, [peerAttr(peer), ...(dontFragment ? [{ name: "DONT-FRAGMENT" as const, value: true as const }] : []), { name: "DATA", value: Buffer.from(text) }]),
        client.address,
        client.port,
        client.link,
      );
    send(PEER, "v4 with DF", true);
    send(PEER, "v4 plain", false);
    send(PEER6, "v6 with DF", true);
    send(PEER6, "v6 plain", false);
    expect(relay4!.sent.map((s) => s.data.toString())).toEqual(relayedToV4);
    expect(relay6!.sent.map((s) => s.data.toString())).toEqual(["v6 with DF", "v6 plain"]);
    expect(h.deps.counters.droppedPackets).toBe(2 - relayedToV4.length);
  });
});

describe("ChannelBind (RFC 8656 §12.2) and ChannelData (§12.4-12.7)", () => {
  it("answers 508 past the channels-per-allocation cap, installing nothing; a refresh is not a new channel", async () => {
    // One permission covers every port of its peer: without a cap of its own, one allocation could bind every channel number.
    const { h, client } = await allocated(createTurnHarness({ turn: { maxChannelsPerAllocation: 2 } }));
    const bind = (number: number, peer: { family: "IPv4"; address: string; port: number }) =>
      client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: number }, peerAttr(peer)]);
    expect((await bind(0x4000, PEER)).messageClass).toBe(MessageClass.SuccessResponse);
    expect((await bind(0x4001, { ...PEER, port: PEER.port + 1 })).messageClass).toBe(MessageClass.SuccessResponse);
    expect(errorCode(await bind(0x4002, { ...PEER, port: PEER.port + 2 }))).toBe(508);
    expect(errorCode(await bind(0x4002, OTHER))).toBe(508);
    const allocation = findAllocation(h.deps.table, client.link, client.address, client.port)!;
    expect([...allocation.channelsByNumber!.keys()]).toEqual([0x4000, 0x4001]);
    expect([...allocation.permissions.keys()]).toEqual([PEER.address]);
    expect((await bind(0x4001, { ...PEER, port: PEER.port + 1 })).messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("answers 508 when binding a channel would install a permission past the permissions-per-allocation cap", async () => {
    // A ChannelBind to a peer with no permission installs one (§12.2), so it meets that cap too.
    const { h, client } = await allocated(createTurnHarness({ turn: { maxPermissionsPerAllocation: 1 } }));
    const bind = (number: number, peer: { family: "IPv4"; address: string; port: number }) =>
      client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: number }, peerAttr(peer)]);
    expect((await client.request(Method.CreatePermission, [peerAttr(PEER)])).messageClass).toBe(MessageClass.SuccessResponse);
    expect(errorCode(await bind(0x4000, OTHER))).toBe(508);
    const allocation = findAllocation(h.deps.table, client.link, client.address, client.port)!;
    expect([...allocation.permissions.keys()]).toEqual([PEER.address]);
    expect(channelCount(allocation)).toBe(0);
    // A peer that already has its permission takes a channel: no new permission.
    expect((await bind(0x4000, PEER)).messageClass).toBe(MessageClass.SuccessResponse);
    expect(channelCount(allocation)).toBe(1);
  });

  it.each([
    ["0x3FFF", 0x3fff],
    ["0x5000", 0x5000],
    ["0x7FFF", 0x7fff],
  ])("rejects channel number %s with 400", async (_name, number) => {
    const { client } = await allocated();
    expect(errorCode(await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: number }, peerAttr(PEER)]))).toBe(400);
  });

  it("rejects a ChannelBind without XOR-PEER-ADDRESS with 400", async () => {
    const { client } = await allocated();
    expect(errorCode(await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }]))).toBe(400);
  });

  it("binds a channel: ChannelData goes to the peer, the peer's datagrams come back as ChannelData", async () => {
    const { client, relay } = await allocated();
    const response = await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4001 }, peerAttr(PEER)]);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    await client.sendRaw(channelData(0x4001, Buffer.from("media")));
    expect(relay.sent).toEqual([{ data: Buffer.from("media"), address: PEER.address, port: PEER.port }]);
    relay.receive(Buffer.from("reply"), PEER.address, PEER.port);
    const [frame] = client.link.take();
    expect(frame!.data).toEqual(channelData(0x4001, Buffer.from("reply")));
    // Same IP, another port: permitted, but not the channel's peer, so a Data indication.
    relay.receive(Buffer.from("other port"), PEER.address, PEER.port + 1);
    expect(decode(client.link.take()[0]!.data).method).toBe(Method.Data);
  });

  it("refuses a number bound to another peer and a peer bound to another number; the same pair refreshes", async () => {
    const { client } = await allocated();
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(PEER)]);
    expect(errorCode(await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(OTHER)]))).toBe(400);
    expect(errorCode(await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4002 }, peerAttr(PEER)]))).toBe(400);
    expect((await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(PEER)])).messageClass).toBe(
      MessageClass.SuccessResponse,
    );
  });

  it("drops ChannelData on an unbound channel, with a length beyond the payload, and keeps a zero-length one", async () => {
    const { client, relay } = await allocated();
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(PEER)]);
    await client.sendRaw(channelData(0x4003, Buffer.from("unbound")));
    const lying = channelData(0x4000, Buffer.from("abcd"));
    lying.writeUInt16BE(100, 2);
    await client.sendRaw(lying);
    expect(relay.sent).toEqual([]);
    await client.sendRaw(channelData(0x4000, Buffer.alloc(0)));
    expect(relay.sent).toEqual([{ data: Buffer.alloc(0), address: PEER.address, port: PEER.port }]);
  });

  it("stops ChannelData once the permission expires (300 s) though the channel lasts 600 s", async () => {
    const { h, client, relay } = await allocated();
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(PEER)]);
    h.clock.advance(300_000);
    h.service.sweep();
    await client.sendRaw(channelData(0x4000, Buffer.from("x")));
    relay.receive(Buffer.from("y"), PEER.address, PEER.port);
    expect(relay.sent).toEqual([]);
    expect(client.link.take()).toEqual([]);
    expect(h.deps.table.size).toBe(1);
  });

  it("frees the channel number after 600 s so it can be bound to another peer", async () => {
    const { h, client } = await allocated(createTurnHarness());
    await client.request(Method.Refresh, [{ name: "LIFETIME", value: 3600 }]);
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(PEER)]);
    h.clock.advance(600_000);
    h.service.sweep();
    const response = await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(OTHER)]);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
  });
});

describe("past a lifetime, before the sweeper's next tick (it runs once a second)", () => {
  /** Data each way and a Send indication, none of it swept: what reached the peer, and the first byte of what reached the client. */
  async function traffic(h: TurnHarness, client: HarnessClient, relay: TurnHarness["relays"]["sockets"][number]) {
    relay.sent.splice(0);
    client.link.take();
    await client.sendRaw(channelData(0x4000, Buffer.from("channel")));
    h.handle(client.builder.indication(Method.Send, [peerAttr(PEER), { name: "DATA", value: Buffer.from("send") }]), client.address, client.port, client.link);
    relay.receive(Buffer.from("from peer"), PEER.address, PEER.port);
    return { toPeer: relay.sent.map((d) => d.data.toString()), toClient: client.link.take().map((d) => d.data[0]) };
  }

  it("a permission that expired relays nothing either way: ChannelData, Send, or data from the peer", async () => {
    const { h, client, relay } = await allocated();
    await client.request(Method.Refresh, [{ name: "LIFETIME", value: 3600 }]);
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(PEER)]);
    h.clock.advance(299_999);
    expect(await traffic(h, client, relay)).toEqual({ toPeer: ["channel", "send"], toClient: [0x40] });
    h.clock.advance(1); // the permission's 300 s; the channel has 300 s left
    expect(await traffic(h, client, relay)).toEqual({ toPeer: [], toClient: [] });
  });

  it("a channel that expired carries nothing; data from the peer, still permitted, comes as a Data indication", async () => {
    const { h, client, relay } = await allocated();
    await client.request(Method.Refresh, [{ name: "LIFETIME", value: 3600 }]);
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(PEER)]);
    h.clock.advance(500_000);
    await client.request(Method.CreatePermission, [peerAttr(PEER)]); // the permission lasts to 800 s
    h.clock.advance(100_000); // the channel's 600 s
    const { toPeer, toClient } = await traffic(h, client, relay);
    expect(toPeer).toEqual(["send"]);
    expect(toClient).toEqual([0x00]); // a STUN message: the Data indication
  });

  it("an allocation that expired relays nothing, though its permission and channel would last longer", async () => {
    const { h, client, relay } = await allocated(); // the default lifetime, 600 s
    h.clock.advance(590_000);
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(PEER)]);
    expect(await traffic(h, client, relay)).toEqual({ toPeer: ["channel", "send"], toClient: [0x40] });
    h.clock.advance(10_000);
    expect(await traffic(h, client, relay)).toEqual({ toPeer: [], toClient: [] });
  });
});

describe("rfc5766-channel-numbers: RFC 5766's 0x4000-0x7FFF for older clients", () => {
  it("binds 0x7FFF and relays ChannelData whose first byte is 0x7F when enabled", async () => {
    const { client, relay } = await allocated(createTurnHarness({ turn: { maxChannelNumber: 0x7fff } }));
    const response = await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x7fff }, peerAttr(PEER)]);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    await client.sendRaw(channelData(0x7fff, Buffer.from("old client")));
    expect(relay.sent).toEqual([{ data: Buffer.from("old client"), address: PEER.address, port: PEER.port }]);
  });

  it("drops ChannelData with a first byte above 0x4F by default, even if such a channel existed (RFC 8656 §12)", async () => {
    const { h, client, relay } = await allocated();
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(PEER)]);
    const frame = channelData(0x5000, Buffer.from("x"));
    await client.sendRaw(frame);
    expect(relay.sent).toEqual([]);
    expect(h.deps.counters.droppedPackets).toBe(0); // not even seen as ChannelData: demux drops it first
  });
});

describe("channels to several ports of one peer address", () => {
  it("relays each port's traffic on its own channel, and keeps the other when one is refreshed away", async () => {
    const { h, client, relay } = await allocated();
    await client.request(Method.Refresh, [{ name: "LIFETIME", value: 3600 }]);
    const a = { family: "IPv4", address: "8.8.8.8", port: 5000 } as const;
    const b = { family: "IPv4", address: "8.8.8.8", port: 6000 } as const;
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAttr(a)]);
    h.clock.advance(300_000);
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4001 }, peerAttr(b)]);
    relay.receive(Buffer.from("to a"), a.address, a.port);
    relay.receive(Buffer.from("to b"), b.address, b.port);
    expect(client.link.take().map((d) => d.data.readUInt16BE(0))).toEqual([0x4000, 0x4001]);
    // At 599 s the permission for 8.8.8.8 is refreshed (it lasts 300 s); at 600 s channel 0x4000, bound
    // at 0 s, expires (channels last 600 s) while 0x4001, bound at 300 s, stays.
    h.clock.advance(299_000);
    await client.request(Method.CreatePermission, [peerAttr(a)]);
    h.clock.advance(1_000);
    h.service.sweep();
    relay.receive(Buffer.from("to b again"), b.address, b.port);
    relay.receive(Buffer.from("to a again"), a.address, a.port);
    const frames = client.link.take().map((d) => d.data);
    expect(frames[0]!.readUInt16BE(0)).toBe(0x4001);
    expect(decode(frames[1]!).method).toBe(Method.Data); // a's channel is gone; the permission is not
  });
});
