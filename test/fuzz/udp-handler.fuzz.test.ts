// The whole UDP handler (dispatcher, real TURN service and handlers, fakes for sockets and time) fed
// random and mutated datagrams from clients, datagrams from peers, and time: nothing escapes, nothing
// is logged at error level, every answer is well formed and addressed, and the state stays consistent.
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { getAttribute } from "../../src/stun/attributes/registry.js";
import { MessageClass, Method } from "../../src/stun/constants.js";
import { messageClassOf, methodOf } from "../../src/stun/header.js";
import { decodeMessage } from "../../src/stun/message.js";
import { createDispatcher, type PacketHandler } from "../../src/turn/dispatch.js";
import { channelCount, channelList, findChannelByNumber, findChannelByPeer, type Allocation } from "../../src/turn/allocation.js";
import { allAllocations } from "../../src/turn/allocation-table.js";
import { createSourceRateLimit } from "../../src/turn/source-rate-limit.js";
import { FakeLink, type FakeRelaySocket, type SentDatagram } from "../helpers/fakes.js";
import { createTurnHarness, REALM, type TurnHarness } from "../helpers/turn-harness.js";
import { TurnRequestBuilder } from "../helpers/turn-messages.js";
import { fuzzParameters, fuzzTimeout } from "./fuzz-options.js";
import { CLIENTS, command, mutate, OFFERED_PASSWORD_ALGORITHMS, PEERS, type Command, type RequestCommand } from "./turn-commands.js";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
process.on("unhandledRejection", onUnhandled);
afterAll(() => void process.off("unhandledRejection", onUnhandled));

const DENIED_PEERS = new Set(["10.1.2.3", "93.184.216.34"]);
// Method Send (0x006), class Indication (RFC 8489 §5).
const SEND_INDICATION_TYPE = 0x0016;
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

interface Run {
  readonly h: TurnHarness;
  readonly link: FakeLink;
  readonly handle: PacketHandler;
}

function startRun(rateLimited: boolean): Run {
  // Limits small enough for the commands to reach: three allowed IPv4 peers against two permissions,
  // and alice's three 5-tuples (and EVEN-PORT reservations) against a quota of two.
  const h = createTurnHarness({ turn: { maxPermissionsPerAllocation: 2, userQuota: 2 } });
  // As the server builds it: the real dispatcher, with unauthorized-ratelimit (small, to reach its limit) or without.
  const handle = rateLimited
    ? createDispatcher(h.service.dispatchTable, {
        fingerprint: false,
        maxChannelNumber: h.deps.options.maxChannelNumber,
        counters: h.deps.counters,
        unauthenticatedLimit: createSourceRateLimit({ burst: 3, perSecond: 1, key: randomBytes(8) }),
        clock: h.clock,
        log: h.log,
      })
    : h.handle;
  return { h, link: new FakeLink(), handle };
}

function requestBytes(h: TurnHarness, cmd: RequestCommand): Buffer {
  const c = CLIENTS[cmd.client]!;
  const password = cmd.signing === "wrong" ? "not-the-password" : c.password;
  const builder = new TurnRequestBuilder({ username: c.username, password, realm: REALM }, cmd.signing === "sha256" ? "sha256" : "sha1");
  if (cmd.signing !== "none") {
    builder.nonce = h.deps.nonces.issue(c.address, c.port, h.clock.now(), true);
    builder.realm = REALM;
    builder.passwordAlgorithms = OFFERED_PASSWORD_ALGORITHMS;
  }
  const bytes = cmd.indication ? builder.indication(cmd.method, cmd.attributes) : builder.build(cmd.method, cmd.attributes);
  return mutate(bytes, cmd.mutation);
}

function allocations(h: TurnHarness): Allocation[] {
  return allAllocations(h.deps.table);
}

function ownerOf(h: TurnHarness, socket: FakeRelaySocket): Allocation | undefined {
  return allocations(h).find((a) => a.relays.includes(socket));
}

function expectZeroPadding(message: Buffer): void {
  for (let offset = 20; offset + 4 <= message.length; ) {
    const length = message.readUInt16BE(offset + 2);
    const end = offset + 4 + length;
    const padded = offset + 4 + ((length + 3) & ~3);
    expect([...message.subarray(end, padded)].every((b) => b === 0)).toBe(true);
    offset = padded;
  }
}

/** What a client's datagram may cause on the link: at most one response, to that request, to that client. */
function checkAnswers(sent: Buffer, out: readonly SentDatagram[], client: { address: string; port: number }): void {
  const isRequest = sent.length >= 20 && (sent[0]! & 0xc0) === 0 && messageClassOf(sent.readUInt16BE(0)) === MessageClass.Request;
  expect(out.length).toBeLessThanOrEqual(isRequest ? 1 : 0);
  for (const datagram of out) {
    expect({ address: datagram.address, port: datagram.port }).toEqual(client);
    const response = decodeMessage(datagram.data);
    expect([MessageClass.SuccessResponse, MessageClass.ErrorResponse]).toContain(response.messageClass);
    expect(response.method).toBe(methodOf(sent.readUInt16BE(0)));
    expect(response.transactionId.equals(sent.subarray(8, 20))).toBe(true);
    expectZeroPadding(datagram.data);
  }
}

/** What a peer's datagram may cause: ChannelData or a Data indication to the allocation's client, only with a permission. */
function checkRelayedToClient(h: TurnHarness, socket: FakeRelaySocket, peer: (typeof PEERS)[number], payload: Buffer, out: readonly SentDatagram[]): void {
  const owner = ownerOf(h, socket);
  if (!owner || !owner.permissions.has(peer.address)) {
    expect(out).toEqual([]);
    return;
  }
  expect(out).toHaveLength(1);
  const [datagram] = out;
  expect({ address: datagram!.address, port: datagram!.port }).toEqual({ address: owner.fiveTuple.clientAddress, port: owner.fiveTuple.clientPort });
  const bytes = datagram!.data;
  if (bytes[0]! >= 0x40) {
    const binding = findChannelByNumber(owner, bytes.readUInt16BE(0));
    expect(binding && { address: binding.peerAddress, port: binding.peerPort }).toEqual({ address: peer.address, port: peer.port });
    expect(bytes.readUInt16BE(2)).toBe(payload.length);
    expect(bytes.subarray(4)).toEqual(payload);
  } else {
    const indication = decodeMessage(bytes);
    expect([indication.method, indication.messageClass]).toEqual([Method.Data, MessageClass.Indication]);
    expect(getAttribute(indication, "XOR-PEER-ADDRESS")).toEqual(peer);
    expect(getAttribute(indication, "DATA")).toEqual(payload);
    expectZeroPadding(bytes);
  }
}

/** The table, the relay sockets and the per-user counts agree; no relay socket is open without its allocation. */
function checkState(h: TurnHarness): void {
  const all = allocations(h);
  expect(h.deps.table.size).toBe(all.length);
  const perUser = new Map<string, number>();
  let permissions = 0;
  let channels = 0;
  for (const [link, byAddress] of h.deps.table.byLink) {
    for (const [address, entry] of byAddress) {
      // An address's one allocation is held directly; a Map by port only for two or more.
      if (entry instanceof Map) expect(entry.size).toBeGreaterThan(1);
      const byPort: [number, Allocation][] = entry instanceof Map ? [...entry] : [[entry.fiveTuple.clientPort, entry]];
      for (const [port, allocation] of byPort) {
        expect(allocation.fiveTuple).toMatchObject({ link, clientAddress: address, clientPort: port });
        expect(allocation.expiresAtMs).toBeGreaterThan(h.clock.now());
        expect(allocation.relays.length).toBeGreaterThan(0);
        expect(allocation.relays.every((r) => !(r as FakeRelaySocket).closed)).toBe(true);
        expect(allocation.permissions.size).toBeLessThanOrEqual(h.deps.options.maxPermissionsPerAllocation);
        const bindings = channelList(allocation);
        expect(channelCount(allocation)).toBe(bindings.length);
        // One binding is held in `channel`, two or more in the Maps; never both.
        if (allocation.channel !== undefined) expect(allocation.channelsByNumber ?? allocation.channelsByPeer).toBeUndefined();
        if (allocation.channelsByNumber !== undefined) expect(allocation.channelsByNumber.size).toBeGreaterThan(1);
        expect(allocation.channelsByPeer === undefined).toBe(allocation.channelsByNumber === undefined);
        expect(new Set(bindings.map((b) => b.number)).size).toBe(bindings.length);
        for (const binding of bindings) {
          expect(binding.number).toBeGreaterThanOrEqual(0x4000);
          expect(binding.number).toBeLessThanOrEqual(h.deps.options.maxChannelNumber);
          expect(findChannelByNumber(allocation, binding.number)).toBe(binding);
          expect(findChannelByPeer(allocation, binding.peerAddress, binding.peerPort)).toBe(binding);
          expect(allocation.relays).toContain(binding.relay);
        }
        channels += bindings.length;
        permissions += allocation.permissions.size;
        perUser.set(allocation.username, (perUser.get(allocation.username) ?? 0) + 1);
      }
    }
  }
  expect(h.service.countPermissionsAndChannels()).toEqual({ permissions, channels });
  // The quota ledger holds exactly the allocations that exist and the EVEN-PORT reservations held for later ones.
  expect(h.ledger.total).toBe(all.length + h.relays.reservationCount);
  expect(h.ledger.held("alice") + h.ledger.held("bob")).toBe(h.ledger.total);
  // Each user's holds: their allocations and the reservations made on their quota, no more, no less.
  for (const username of ["alice", "bob"]) expect(h.ledger.held(username)).toBe((perUser.get(username) ?? 0) + h.relays.reservationsOf(username));
  for (const username of ["alice", "bob"]) expect(h.ledger.held(username)).toBeLessThanOrEqual(h.deps.options.userQuota);
  const open = new Set(h.relays.sockets.filter((s) => !s.closed));
  expect(open).toEqual(new Set(all.flatMap((a) => a.relays)));
}

async function execute(run: Run, cmd: Command): Promise<void> {
  const { h, link, handle } = run;
  if (cmd.kind === "tick") {
    h.clock.advance(cmd.ms);
    h.service.sweep();
    return;
  }
  if (cmd.kind === "peer") {
    const sockets = h.relays.sockets.filter((s) => !s.closed);
    if (sockets.length === 0) return;
    const socket = sockets[cmd.relay % sockets.length]!;
    const peer = PEERS[cmd.peer]!;
    socket.receive(cmd.payload, peer.address, peer.port);
    await settle();
    checkRelayedToClient(h, socket, peer, cmd.payload, link.take());
    return;
  }
  const client = CLIENTS[cmd.client]!;
  let bytes: Buffer;
  if (cmd.kind === "raw") bytes = cmd.bytes;
  else if (cmd.kind === "channel-data") {
    bytes = Buffer.concat([Buffer.alloc(4), cmd.payload]);
    bytes.writeUInt16BE(cmd.channel, 0);
    bytes.writeUInt16BE(cmd.declaredLength ?? cmd.payload.length, 2);
    if (cmd.truncateTo !== undefined) bytes = bytes.subarray(0, cmd.truncateTo);
  } else bytes = requestBytes(h, cmd);

  const sentBefore = new Map(h.relays.sockets.map((s) => [s, s.sent.length]));
  const permittedBefore = new Map(allocations(h).map((a) => [a, new Set(a.permissions.keys())]));
  try {
    handle(bytes, client.address, client.port, link);
  } catch (error) {
    throw new Error(`the handler threw on ${bytes.toString("hex")}: ${String(error)}`);
  }
  await settle();
  checkAnswers(bytes, link.take(), { address: client.address, port: client.port });
  // Anything sent to a peer went from the sender's own allocation, to a permitted, allowed peer.
  for (const socket of h.relays.sockets) {
    const fresh = socket.sent.slice(sentBefore.get(socket) ?? 0);
    if (fresh.length === 0) continue;
    // Judged by the bytes, not by what the generator meant: a mutated request can be valid ChannelData.
    const isChannelData = bytes.length >= 4 && bytes[0]! >= 0x40 && bytes[0]! <= 0x7f;
    const isSendIndication = bytes.length >= 20 && bytes.readUInt16BE(0) === SEND_INDICATION_TYPE;
    expect(isChannelData || isSendIndication).toBe(true);
    const owner = ownerOf(h, socket)!;
    expect(owner.fiveTuple).toMatchObject({ clientAddress: client.address, clientPort: client.port });
    for (const datagram of fresh) {
      expect(permittedBefore.get(owner)?.has(datagram.address)).toBe(true);
      expect(DENIED_PEERS.has(datagram.address)).toBe(false);
    }
  }
}

/**
 * Every client allocates, permits 8.8.8.8 and binds 0x4001 to it, then permits 9.9.9.9, so that random
 * commands meet state, and a permission for a third IPv4 peer meets the cap of two (the first client's
 * ChannelBind to 1.1.1.1 and the second's CreatePermission for it do, every run).
 */
const WARM_UP: readonly Command[] = CLIENTS.flatMap((_, client): Command[] => {
  const signed = { kind: "request", client, indication: false, signing: "sha1", mutation: { kind: "none" } } as const;
  return [
    { ...signed, method: Method.Allocate, attributes: [{ name: "REQUESTED-TRANSPORT", value: 17 }] },
    { ...signed, method: Method.CreatePermission, attributes: [{ name: "XOR-PEER-ADDRESS", value: PEERS[0] }] },
    { ...signed, method: Method.ChannelBind, attributes: [{ name: "CHANNEL-NUMBER", value: 0x4001 }, { name: "XOR-PEER-ADDRESS", value: PEERS[0] }] },
    { ...signed, method: Method.CreatePermission, attributes: [{ name: "XOR-PEER-ADDRESS", value: PEERS[3] }] },
    ...(client === 0
      ? [{ ...signed, method: Method.ChannelBind, attributes: [{ name: "CHANNEL-NUMBER", value: 0x4002 }, { name: "XOR-PEER-ADDRESS", value: PEERS[1] }] } as const]
      : []),
    ...(client === 1 ? [{ ...signed, method: Method.CreatePermission, attributes: [{ name: "XOR-PEER-ADDRESS", value: PEERS[1] }] } as const] : []),
  ];
});

async function runCommands(commands: readonly Command[], rateLimited: boolean): Promise<TurnHarness> {
  const run = startRun(rateLimited);
  for (const cmd of commands) {
    await execute(run, cmd);
    checkState(run.h);
    expect(run.h.log.errors()).toEqual([]);
    expect(unhandled.splice(0)).toEqual([]);
  }
  return run.h;
}

describe("the UDP handler under random and mutated datagrams (RFC 8489 §6.3, RFC 8656)", () => {
  it(
    "clients (signed, unsigned, mutated), peers and time: nothing escapes, no error log, answers well formed, state consistent",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), fc.boolean(), fc.boolean(), async (commands, warm, rateLimited) => {
          await runCommands(warm ? [...WARM_UP, ...commands] : commands, rateLimited);
        }),
        fuzzParameters(150),
      );
    },
    fuzzTimeout(),
  );

  it(
    "traffic that is not signed creates no allocation, relay socket or permission",
    async () => {
      const unsigned = command.filter((c) => c.kind !== "request" || c.signing === "none" || c.signing === "wrong");
      await fc.assert(
        fc.asyncProperty(fc.array(unsigned, { minLength: 1, maxLength: 30 }), fc.boolean(), async (commands, rateLimited) => {
          const h = await runCommands(commands, rateLimited);
          expect(h.deps.table.size).toBe(0);
          expect(h.relays.sockets).toEqual([]);
        }),
        fuzzParameters(150),
      );
    },
    fuzzTimeout(),
  );

  it(
    "the generators reach real state: allocations, channels and relayed packets do get made",
    async () => {
      // Guards the property above against vacuity: the generators must reach real state.
      let allocated = 0;
      let channels = 0;
      let relayed = 0;
      let pastQuota = 0;
      let pastPermissionCap = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 20, maxLength: 40 }), async (commands) => {
          const h = await runCommands([...WARM_UP, ...commands], false);
          allocated += h.deps.counters.allocationsCreated;
          channels += allocations(h).reduce((n, a) => n + channelCount(a), 0);
          relayed += h.deps.counters.relay.udp.clientToPeerPackets + h.deps.counters.relay.udp.peerToClientPackets;
          pastQuota += h.deps.counters.errorResponses[486] ?? 0;
          pastPermissionCap += h.deps.counters.errorResponses[508] ?? 0;
        }),
        fuzzParameters(40),
      );
      // Alice's third 5-tuple is past her quota of two while her other two hold allocations.
      expect(allocated).toBeGreaterThanOrEqual(40 * (CLIENTS.length - 1));
      expect(channels).toBeGreaterThan(10);
      expect(relayed).toBeGreaterThan(10);
      // The limits the state checks hold the handlers to are reached.
      expect(pastQuota).toBeGreaterThan(10);
      expect(pastPermissionCap).toBeGreaterThanOrEqual(80);
    },
    fuzzTimeout(),
  );
});
