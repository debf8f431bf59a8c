import { describe, expect, it } from "vitest";
import { Method } from "../../../src/stun/constants.js";
import { formatIpValue } from "../../../src/turn/ip-range.js";
import { DEFAULT_DENIED_RANGES } from "../../../src/turn/peer-policy.js";
import { createTurnHarness, HarnessClient } from "../../helpers/turn-harness.js";
import { channelData, errorCode } from "../../helpers/turn-messages.js";

const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;

// One address inside each default-denied class (the second address where the range has one).
const CLASSES = DEFAULT_DENIED_RANGES.map(({ range, reason }) => {
  const value = range.last > range.first ? range.first + 1n : range.first;
  return { address: formatIpValue(range.family, value), family: range.family, reason };
});

describe("default-denied peers are unreachable on every path (RFC 8656 §21.3)", () => {
  it.each(CLASSES)("$address ($reason): CreatePermission and ChannelBind get 403; Send, ChannelData and inbound traffic never flow", async ({ address, family }) => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    const familyAttr = family === "IPv6" ? [{ name: "ADDITIONAL-ADDRESS-FAMILY" as const, value: 2 }] : [];
    await client.request(Method.Allocate, [UDP, ...familyAttr]);
    const peer = { name: "XOR-PEER-ADDRESS" as const, value: { family, address, port: 5000 } };

    expect(errorCode(await client.request(Method.CreatePermission, [peer]))).toBe(403);
    expect(errorCode(await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peer]))).toBe(403);

    await client.sendRaw(client.builder.indication(Method.Send, [peer, { name: "DATA", value: Buffer.from("send") }]));
    await client.sendRaw(channelData(0x4000, Buffer.from("channel")));
    for (const relay of h.relays.sockets) {
      expect(relay.sent).toEqual([]);
      relay.receive(Buffer.from("inbound"), address, 5000);
    }
    expect(client.link.take()).toEqual([]);
  });

  it("covers every class in the policy's table", () => {
    expect(CLASSES.length).toBe(DEFAULT_DENIED_RANGES.length);
    expect(CLASSES.length).toBeGreaterThanOrEqual(30);
  });
});

describe("a service of this host (its own address, outside the relay ports)", () => {
  const HOST = "44.0.0.7";
  const harness = () => createTurnHarness({ policy: { hostAddresses: [HOST], relayPorts: { min: 49152, max: 65535 } } });
  const peerAt = (port: number) => ({ name: "XOR-PEER-ADDRESS" as const, value: { family: "IPv4" as const, address: HOST, port } });
  const notices = (h: ReturnType<typeof harness>) => h.log.records.filter((r) => r.msg === "peer refused: a service of this host (its own address, outside min-port..max-port)");

  it("gets 403 for ChannelBind and no Send through, and the operator is told why and what lets it through", async () => {
    const h = harness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    expect(errorCode(await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAt(53)]))).toBe(403);
    // A permission is per address: granted; the Send to a host service is what is refused.
    expect((await client.request(Method.CreatePermission, [peerAt(53)])).messageClass).toBe(2);
    await client.sendRaw(client.builder.indication(Method.Send, [peerAt(53), { name: "DATA", value: Buffer.from("x") }]));
    expect(h.relays.sockets[0]!.sent).toEqual([]);
    expect(notices(h).map((r) => [r.level, r.obj["peer"], r.obj["allowWith"]])).toEqual([
      ["info", `${HOST}:53`, `allowed-peer-ip=${HOST}`],
      ["info", `${HOST}:53`, `allowed-peer-ip=${HOST}`],
    ]);
  });

  it("looks no further at a refused Send when info lines are off: a flood of them parses nothing more", async () => {
    const h = createTurnHarness({ policy: { hostAddresses: [HOST], relayPorts: { min: 49152, max: 65535 } }, logLevel: "warn" });
    const policy = h.deps.peerPolicy;
    let asked = 0;
    (h.deps as { peerPolicy: typeof policy }).peerPolicy = { ...policy, isHostService: (a, p) => (asked++, policy.isHostService(a, p)) };
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    await client.request(Method.CreatePermission, [peerAt(53)]);
    for (let i = 0; i < 10; i++) await client.sendRaw(client.builder.indication(Method.Send, [peerAt(53), { name: "DATA", value: Buffer.from("x") }]));
    expect(h.relays.sockets[0]!.sent).toEqual([]);
    expect(asked).toBe(0);
  });

  it("writes five notices a minute, then counts the rest and says how many were held back", async () => {
    const h = harness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    await client.request(Method.CreatePermission, [peerAt(53)]);
    const send = () => client.sendRaw(client.builder.indication(Method.Send, [peerAt(53), { name: "DATA", value: Buffer.from("x") }]));
    for (let i = 0; i < 12; i++) await send();
    expect(notices(h)).toHaveLength(5);
    h.clock.advance(60_000);
    await send();
    expect(notices(h)).toHaveLength(6);
    expect(h.log.records.find((r) => r.msg === "log lines suppressed")?.obj).toMatchObject({ suppressed: 7, message: notices(h)[0]!.msg });
  });

  it("relays to a relay port of this host (another allocation's relayed address), and says nothing", async () => {
    const h = harness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    expect((await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAt(50000)])).messageClass).toBe(2);
    await client.sendRaw(client.builder.indication(Method.Send, [peerAt(50001), { name: "DATA", value: Buffer.from("x") }]));
    expect(h.relays.sockets[0]!.sent).toHaveLength(1);
    expect(notices(h)).toEqual([]);
  });
});
