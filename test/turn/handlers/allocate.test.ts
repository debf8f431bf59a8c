import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { getAttribute, getAttributes, hasAttribute } from "../../../src/stun/attributes/registry.js";
import { Method, MessageClass } from "../../../src/stun/constants.js";
import { verifyMessageIntegrity, writeMessageIntegrity } from "../../../src/stun/integrity.js";
import { encodeMessage } from "../../../src/stun/message.js";
import { createLiveCredentialStore } from "../../../src/credentials/live-credential-store.js";
import { RelayUnavailableError, type PeerPacketHandler, type RelaySocket, type ReservationClaimer } from "../../../src/turn/ports.js";
import { FakeLink, FakeRelayAllocator } from "../../helpers/fakes.js";
import { createTurnHarness, HarnessClient, type TurnHarness } from "../../helpers/turn-harness.js";
import { decode, errorCode } from "../../helpers/turn-messages.js";

const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;
/** The fake allocator binds at once, as production does, or later, as a Node.js that deferred the bind would. */
const BIND_MODES = [
  ["bound at once", true],
  ["bound later", false],
] as const;

/** A RESERVATION-TOKEN claim that waits, as one does on a port another relay thread holds, until `release()`. */
class SlowClaimAllocator extends FakeRelayAllocator {
  release: (() => void) | undefined;
  override async claimReservation(token: Buffer, claimer: ReservationClaimer, onPacket: PeerPacketHandler): Promise<RelaySocket> {
    await new Promise<void>((resolve) => (this.release = resolve));
    return super.claimReservation(token, claimer, onPacket);
  }
}

/**
 * A claim as it runs on another relay thread: the thread holding the reservation ends it at once (its
 * hold goes back), and the claimer gets the port a moment later, at `release()`.
 */
class EndsFirstClaimAllocator extends FakeRelayAllocator {
  release: (() => void) | undefined;
  override async claimReservation(token: Buffer, claimer: ReservationClaimer, onPacket: PeerPacketHandler): Promise<RelaySocket> {
    const claimed = super.claimReservation(token, claimer, onPacket);
    await new Promise<void>((resolve) => (this.release = resolve));
    return claimed;
  }
}

describe("Allocate (RFC 8656 §7.2)", () => {
  it("challenges an unauthenticated Allocate with 401, REALM, NONCE and PASSWORD-ALGORITHMS, and keeps no state", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    const [answer] = await client.sendRaw(client.builder.build(Method.Allocate, [UDP]));
    const response = decode(answer!);
    expect(response.messageClass).toBe(MessageClass.ErrorResponse);
    expect(errorCode(response)).toBe(401);
    expect(getAttribute(response, "REALM")).toBe("example.org");
    expect(getAttribute(response, "NONCE")).toMatch(/^obMatJos2/);
    expect(getAttribute(response, "PASSWORD-ALGORITHMS")?.length).toBe(2);
    expect(h.deps.table.size).toBe(0);
    expect(h.relays.sockets).toEqual([]);
  });

  it("allocates a relayed address with the default 600 s lifetime, signed with the user's key", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    const response = await client.request(Method.Allocate, [UDP]);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    expect(getAttribute(response, "XOR-RELAYED-ADDRESS")).toEqual({ family: "IPv4", address: "198.51.100.1", port: 50000 });
    expect(getAttribute(response, "LIFETIME")).toBe(600);
    expect(getAttribute(response, "XOR-MAPPED-ADDRESS")).toEqual({ family: "IPv4", address: client.address, port: client.port });
    expect(verifyMessageIntegrity(response, client.builder.key)).toBe(true);
    expect(h.deps.table.size).toBe(1);
  });

  it("answers a link-local client, which Node names with its zone (fe80::1%eth0): the zone stays in replies, never on the wire", async () => {
    const h = createTurnHarness();
    const link = new FakeLink("udp", "IPv6", "fe80::10");
    const client = new HarnessClient(h, link, "fe80::1%eth0", 40000);
    const repliedTo: string[] = [];
    const send = link.send.bind(link);
    link.send = (data, address, port) => {
      repliedTo.push(`${address} ${port}`);
      send(data, address, port);
    };
    const binding = await client.request(Method.Binding);
    expect(getAttribute(binding, "XOR-MAPPED-ADDRESS")).toEqual({ family: "IPv6", address: "fe80::1", port: 40000 });
    const response = await client.request(Method.Allocate, [UDP]);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    expect(getAttribute(response, "XOR-MAPPED-ADDRESS")).toEqual({ family: "IPv6", address: "fe80::1", port: 40000 });
    expect(h.deps.table.size).toBe(1);
    // Replies went to the zoned address, through the interface that reached us; the allocation is found again by it.
    expect(new Set(repliedTo)).toEqual(new Set(["fe80::1%eth0 40000"]));
    const refresh = await client.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }]);
    expect(refresh.messageClass).toBe(MessageClass.SuccessResponse);
    expect(h.deps.table.size).toBe(0);
  });

  it("answers a retransmitted Allocate (same transaction id, same 5-tuple) with the same success response", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.request(Method.Binding); // learn nothing; Binding needs no auth
    const first = await client.request(Method.Allocate, [UDP]);
    const [again] = await client.sendRaw(client.builder.build(Method.Allocate, [UDP], { transactionId: Buffer.from(first.transactionId) }));
    expect(again!.equals(first.raw)).toBe(true);
    expect(h.relays.sockets.length).toBe(1);
  });

  it("answers a new Allocate on an allocated 5-tuple with 437 Allocation Mismatch, signed", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    const response = await client.request(Method.Allocate, [UDP]);
    expect(errorCode(response)).toBe(437);
    expect(verifyMessageIntegrity(response, client.builder.key)).toBe(true);
  });

  it.each([
    ["REQUESTED-TRANSPORT missing", 400, []],
    ["REQUESTED-TRANSPORT TCP", 442, [{ name: "REQUESTED-TRANSPORT", value: 6 }]],
    ["DONT-FRAGMENT (the DF bit cannot be set from Node, so it is unknown: §7.2 step 4)", 420, [UDP, { name: "DONT-FRAGMENT", value: true }]],
    ["RESERVATION-TOKEN with EVEN-PORT", 400, [UDP, { name: "RESERVATION-TOKEN", value: Buffer.alloc(8) }, { name: "EVEN-PORT", value: false }]],
    ["RESERVATION-TOKEN with REQUESTED-ADDRESS-FAMILY", 400, [UDP, { name: "RESERVATION-TOKEN", value: Buffer.alloc(8) }, { name: "REQUESTED-ADDRESS-FAMILY", value: 1 }]],
    ["an unknown RESERVATION-TOKEN", 508, [UDP, { name: "RESERVATION-TOKEN", value: Buffer.alloc(8, 9) }]],
    ["REQUESTED-ADDRESS-FAMILY with ADDITIONAL-ADDRESS-FAMILY", 400, [UDP, { name: "REQUESTED-ADDRESS-FAMILY", value: 1 }, { name: "ADDITIONAL-ADDRESS-FAMILY", value: 2 }]],
    ["an unknown REQUESTED-ADDRESS-FAMILY", 440, [UDP, { name: "REQUESTED-ADDRESS-FAMILY", value: 3 }]],
    ["ADDITIONAL-ADDRESS-FAMILY IPv4", 400, [UDP, { name: "ADDITIONAL-ADDRESS-FAMILY", value: 1 }]],
    ["ADDITIONAL-ADDRESS-FAMILY with an EVEN-PORT reservation", 400, [UDP, { name: "ADDITIONAL-ADDRESS-FAMILY", value: 2 }, { name: "EVEN-PORT", value: true }]],
  ] as const)("rejects %s with %i", async (_name, code, attributes) => {
    const h = createTurnHarness();
    const response = await new HarnessClient(h).request(Method.Allocate, attributes);
    expect(errorCode(response)).toBe(code);
    if (code === 420) expect(getAttribute(response, "UNKNOWN-ATTRIBUTES")).toEqual([0x001a]);
    expect(h.deps.table.size).toBe(0);
    expect(h.relays.sockets.every((s) => s.closed)).toBe(true);
  });

  it.each([
    [undefined, 600],
    [30, 600],
    [1200, 1200],
    [100_000, 3600],
  ])("grants LIFETIME %s as %i seconds (default 600, max-allocate-lifetime 3600)", async (requested, granted) => {
    const h = createTurnHarness();
    const attributes = requested === undefined ? [UDP] : [UDP, { name: "LIFETIME" as const, value: requested }];
    const response = await new HarnessClient(h).request(Method.Allocate, attributes);
    expect(getAttribute(response, "LIFETIME")).toBe(granted);
  });

  it.each(BIND_MODES)("answers a malformed LIFETIME with 400 before anything is reserved or bound (%s)", async (_name, atOnce) => {
    const h = createTurnHarness({ turn: { userQuota: 1 } });
    h.relays.bindsAtOnce = atOnce;
    const client = new HarnessClient(h);
    await client.learnNonce();
    // A signed Allocate whose LIFETIME value is 2 bytes long (padded to 4): the framing is valid, the value is not.
    const unsigned = encodeMessage({
      method: Method.Allocate,
      messageClass: MessageClass.Request,
      transactionId: Buffer.alloc(12, 7),
      attributes: [
        { name: "LIFETIME", value: 600 },
        UDP,
        { name: "USERNAME", value: client.builder.credentials.username },
        { name: "REALM", value: client.builder.realm! },
        { name: "NONCE", value: client.builder.nonce! },
      ],
    });
    expect(unsigned.readUInt16BE(20)).toBe(0x000d);
    unsigned.writeUInt16BE(2, 22);
    const signed = Buffer.concat([unsigned, Buffer.from([0x00, 0x08, 0x00, 0x14]), Buffer.alloc(20)]);
    signed.writeUInt16BE(signed.length - 20, 2);
    writeMessageIntegrity("sha1", client.builder.key, signed, unsigned.length, signed.length, signed, unsigned.length + 4);
    const [answer] = await client.sendRaw(signed);
    expect(errorCode(decode(answer!))).toBe(400);
    expect(h.relays.sockets.every((socket) => socket.closed)).toBe(true);
    expect((await client.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("allocates an IPv6 relayed address for REQUESTED-ADDRESS-FAMILY IPv6", async () => {
    const h = createTurnHarness();
    const response = await new HarnessClient(h).request(Method.Allocate, [UDP, { name: "REQUESTED-ADDRESS-FAMILY", value: 2 }]);
    expect(getAttribute(response, "XOR-RELAYED-ADDRESS")).toEqual({ family: "IPv6", address: "2001:db8::1", port: 50000 });
  });

  it.each([
    ["ipv4 (RFC 8656)", "IPv4", ["IPv4", "IPv4"]],
    ["ipv6", "IPv6", ["IPv6", "IPv6"]],
    ["keep: the family the client came over", "keep", ["IPv4", "IPv6"]],
  ] as const)("allocation-default-address-family %s: the relay of an Allocate that names no family, from an IPv4 and an IPv6 client", async (_, family, expected) => {
    const h = createTurnHarness({ turn: { defaultAddressFamily: family } });
    const families: string[] = [];
    for (const client of [new HarnessClient(h), new HarnessClient(h, new FakeLink("udp", "IPv6", "2001:db8::10"), "2001:db8::7")]) {
      const response = await client.request(Method.Allocate, [UDP]);
      families.push(getAttribute(response, "XOR-RELAYED-ADDRESS")!.family);
      // A family asked for is given whatever the default.
      const asked = await new HarnessClient(h, client.link, client.address, client.port + 1).request(Method.Allocate, [UDP, { name: "REQUESTED-ADDRESS-FAMILY", value: 1 }]);
      expect(getAttribute(asked, "XOR-RELAYED-ADDRESS")!.family).toBe("IPv4");
    }
    expect(families).toEqual(expected);
  });

  it("answers 440 when the requested family has no relay address", async () => {
    const relays = new FakeRelayAllocator();
    relays.families = ["IPv4"];
    const h = createTurnHarness({ relays });
    const response = await new HarnessClient(h).request(Method.Allocate, [UDP, { name: "REQUESTED-ADDRESS-FAMILY", value: 2 }]);
    expect(errorCode(response)).toBe(440);
  });

  it("allocates both families for ADDITIONAL-ADDRESS-FAMILY IPv6 (dual-stack, RFC 8656 §7.2)", async () => {
    const h = createTurnHarness();
    const response = await new HarnessClient(h).request(Method.Allocate, [UDP, { name: "ADDITIONAL-ADDRESS-FAMILY", value: 2 }]);
    expect(getAttributes(response, "XOR-RELAYED-ADDRESS").map((a) => a.family)).toEqual(["IPv4", "IPv6"]);
    expect(hasAttribute(response, "ADDRESS-ERROR-CODE")).toBe(false);
  });

  it("keeps the IPv4 half and reports ADDRESS-ERROR-CODE 440 when IPv6 is unavailable", async () => {
    const relays = new FakeRelayAllocator();
    relays.families = ["IPv4"];
    const h = createTurnHarness({ relays });
    const response = await new HarnessClient(h).request(Method.Allocate, [UDP, { name: "ADDITIONAL-ADDRESS-FAMILY", value: 2 }]);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    expect(getAttributes(response, "XOR-RELAYED-ADDRESS").map((a) => a.family)).toEqual(["IPv4"]);
    expect(getAttribute(response, "ADDRESS-ERROR-CODE")).toMatchObject({ family: 2, code: 440 });
  });

  it("reserves the next port for EVEN-PORT with R set, and a later Allocate claims it with RESERVATION-TOKEN", async () => {
    const h = createTurnHarness();
    const first = await new HarnessClient(h).request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
    const token = getAttribute(first, "RESERVATION-TOKEN");
    expect(token?.length).toBe(8);
    expect(getAttribute(first, "XOR-RELAYED-ADDRESS")!.port % 2).toBe(0);
    const second = await new HarnessClient(h, new FakeLink(), "198.51.100.8").request(Method.Allocate, [
      UDP,
      { name: "RESERVATION-TOKEN", value: token! },
    ]);
    expect(getAttribute(second, "XOR-RELAYED-ADDRESS")!.port).toBe(getAttribute(first, "XOR-RELAYED-ADDRESS")!.port + 1);
  });

  it("counts a held EVEN-PORT reservation toward user-quota: Allocate R=1 then Refresh 0 in a loop piles up no reservations", async () => {
    const h = createTurnHarness({ turn: { userQuota: 3 } });
    const tokens: Buffer[] = [];
    let refused: number | undefined;
    for (let i = 0; i < 10 && refused === undefined; i++) {
      const client = new HarnessClient(h, undefined, undefined, 40001 + i);
      const boundBefore = h.relays.sockets.length;
      const response = await client.request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
      if (response.messageClass !== MessageClass.SuccessResponse) {
        refused = errorCode(response);
        // Refused before anything was bound: no relay socket, no reservation.
        expect(h.relays.sockets.length).toBe(boundBefore);
        break;
      }
      tokens.push(getAttribute(response, "RESERVATION-TOKEN")!);
      expect((await client.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }])).messageClass).toBe(MessageClass.SuccessResponse);
    }
    // Two reservations held, and the third Allocate needs one slot for itself and one for its reservation.
    expect(tokens).toHaveLength(2);
    expect(refused).toBe(486);
    expect(h.relays.reservationCount).toBe(2);
    expect(h.ledger.held("alice")).toBe(2);
  });

  it.each([
    ["user-quota", { userQuota: 1 }, 486],
    ["total-quota", { totalQuota: 1 }, 508],
  ] as const)("answers EVEN-PORT R=1 when %s has room for the allocation but not its reservation with %i, binding nothing; R=0 reserves nothing", async (_name, turn, code) => {
    const h = createTurnHarness({ turn });
    const client = new HarnessClient(h);
    expect(errorCode(await client.request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]))).toBe(code);
    expect(h.relays.sockets).toEqual([]);
    expect(h.ledger.total).toBe(0);
    const response = await client.request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: false }]);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    expect(hasAttribute(response, "RESERVATION-TOKEN")).toBe(false);
  });

  it("gives a reservation's quota back when the reservation expires (30 s)", async () => {
    const h = createTurnHarness({ turn: { userQuota: 2 } });
    expect((await new HarnessClient(h, undefined, undefined, 40001).request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }])).messageClass).toBe(
      MessageClass.SuccessResponse,
    );
    const next = new HarnessClient(h, undefined, undefined, 40002);
    expect(errorCode(await next.request(Method.Allocate, [UDP]))).toBe(486);
    h.clock.advance(29_000);
    h.service.sweep();
    expect(h.ledger.held("alice")).toBe(2);
    h.clock.advance(1_000);
    h.service.sweep();
    expect(h.relays.reservationCount).toBe(0);
    expect(h.ledger.held("alice")).toBe(1);
    expect((await next.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("gives a reservation's quota back when its token is claimed; the claiming Allocate holds quota of its own", async () => {
    const h = createTurnHarness({ turn: { userQuota: 2 } });
    const first = await new HarnessClient(h, undefined, undefined, 40001).request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
    const token = getAttribute(first, "RESERVATION-TOKEN")!;
    expect(h.ledger.held("alice")).toBe(2);
    // A user at quota takes up the port it reserved: the RTP/RTCP pair fits a quota of two.
    const claimed = await new HarnessClient(h, undefined, undefined, 40002).request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]);
    expect(getAttribute(claimed, "XOR-RELAYED-ADDRESS")!.port).toBe(getAttribute(first, "XOR-RELAYED-ADDRESS")!.port + 1);
    expect(h.relays.reservationCount).toBe(0);
    expect(h.ledger.held("alice")).toBe(2);
    expect(errorCode(await new HarnessClient(h, undefined, undefined, 40003).request(Method.Allocate, [UDP]))).toBe(486);

    // Once claimed, the token's expiry gives nothing back a second time.
    h.clock.advance(30_000);
    h.service.sweep();
    expect(h.ledger.held("alice")).toBe(2);

    // Claimed by another user: the reserving user's hold goes, the claimer's comes.
    const other = createTurnHarness({ turn: { userQuota: 2 } });
    const bobs = await new HarnessClient(other, undefined, undefined, 40001, "bob", "builder").request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
    expect(other.ledger.held("bob")).toBe(2);
    const alices = await new HarnessClient(other, undefined, undefined, 40002).request(Method.Allocate, [
      UDP,
      { name: "RESERVATION-TOKEN", value: getAttribute(bobs, "RESERVATION-TOKEN")! },
    ]);
    expect(alices.messageClass).toBe(MessageClass.SuccessResponse);
    expect(other.ledger.held("bob")).toBe(1);
    expect(other.ledger.held("alice")).toBe(1);
  });

  it.each([
    ["user-quota", 2, 486, { userQuota: 2 }],
    ["total-quota", 1, 508, { totalQuota: 3 }],
  ] as const)("leaves a reservation to its owner when another user, at %s with %i allocations of his own, claims its token (%i); the owner still claims it", async (_name, bobsOwn, code, turn) => {
    const h = createTurnHarness({ turn });
    const even = await new HarnessClient(h, undefined, undefined, 40001).request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
    const token = getAttribute(even, "RESERVATION-TOKEN")!;
    for (let i = 0; i < bobsOwn; i++) {
      expect((await new HarnessClient(h, undefined, undefined, 41001 + i, "bob", "builder").request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
    }
    const bobsClaim = await new HarnessClient(h, undefined, undefined, 41100, "bob", "builder").request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]);
    expect(errorCode(bobsClaim)).toBe(code);
    expect(h.relays.reservationCount).toBe(1);
    expect(h.ledger.held("alice")).toBe(2);
    expect(h.ledger.held("bob")).toBe(bobsOwn);
    // Alice is at her quota (or the server at its total) too: her reservation's hold makes the room.
    const alicesClaim = await new HarnessClient(h, undefined, undefined, 40002).request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]);
    expect(getAttribute(alicesClaim, "XOR-RELAYED-ADDRESS")?.port).toBe(getAttribute(even, "XOR-RELAYED-ADDRESS")!.port + 1);
    expect(h.relays.reservationCount).toBe(0);
    expect(h.ledger.held("alice")).toBe(2);
  });

  it("keeps the room a user at quota makes by claiming its reservation on another thread: its other Allocate meanwhile gets 486", async () => {
    const relays = new EndsFirstClaimAllocator(undefined);
    const h = createTurnHarness({ relays, turn: { userQuota: 2 } });
    const even = await new HarnessClient(h, undefined, undefined, 40001).request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
    const token = getAttribute(even, "RESERVATION-TOKEN")!;
    expect(h.ledger.held("alice")).toBe(2);
    const claimer = new HarnessClient(h, undefined, undefined, 40002);
    await claimer.learnNonce();
    void claimer.sendRaw(claimer.builder.build(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]));
    for (let i = 0; i < 5 && relays.release === undefined; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(relays.release).toBeDefined();
    // The reservation has ended where it was held, and its hold with it; the claim has taken that room.
    expect(h.relays.reservationCount).toBe(0);
    expect(h.ledger.held("alice")).toBe(2);
    expect(errorCode(await new HarnessClient(h, undefined, undefined, 40003).request(Method.Allocate, [UDP]))).toBe(486);
    relays.release!();
    const [answer] = await claimer.received();
    const response = decode(answer!);
    expect(getAttribute(response, "XOR-RELAYED-ADDRESS")?.port).toBe(getAttribute(even, "XOR-RELAYED-ADDRESS")!.port + 1);
    expect(h.deps.table.size).toBe(2);
    expect(h.ledger.held("alice")).toBe(2);
  });

  it("gives back the hold a user at quota took for a claim that finds no reservation (508, as for anyone)", async () => {
    const h = createTurnHarness({ turn: { userQuota: 1 } });
    await new HarnessClient(h, undefined, undefined, 40001).request(Method.Allocate, [UDP]);
    const claim = await new HarnessClient(h, undefined, undefined, 40002).request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: Buffer.alloc(8, 9) }]);
    expect(errorCode(claim)).toBe(508);
    expect(h.ledger.held("alice")).toBe(1);
    expect(h.ledger.total).toBe(1);
  });

  it("ends a revoked user's reservations with their allocations, giving their quota back; the token then claims nothing", async () => {
    const h = createTurnHarness({ turn: { userQuota: 4 } });
    const even = await new HarnessClient(h, undefined, undefined, 40001).request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
    const token = getAttribute(even, "RESERVATION-TOKEN")!;
    await new HarnessClient(h, undefined, undefined, 41001, "bob", "builder").request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
    expect(h.service.endAllocationsOf("alice")).toBe(1);
    expect(h.ledger.held("alice")).toBe(0);
    expect(h.relays.reservationsOf("alice")).toBe(0);
    expect(h.relays.reservationsOf("bob")).toBe(1);
    const claim = await new HarnessClient(h, undefined, undefined, 41002, "bob", "builder").request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]);
    expect(errorCode(claim)).toBe(508);
  });

  it.each([
    ["its user is revoked", 401, 10],
    ["its user is revoked", 401, 2],
    ["a drain begins", 403, 10],
    ["a drain begins", 403, 2],
  ])("creates nothing for a token claim that was waiting on another thread when %s (code %i, user-quota %i: at quota, the claim's hold is past it), and gives everything back", async (what, code, userQuota) => {
    const relays = new SlowClaimAllocator(undefined);
    const h = createTurnHarness({ relays, turn: { userQuota } });
    const live = createLiveCredentialStore(h.deps.credentials);
    (h.deps as { credentials: unknown }).credentials = live;
    const first = new HarnessClient(h, undefined, undefined, 40001);
    const token = getAttribute(await first.request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]), "RESERVATION-TOKEN")!;
    const second = new HarnessClient(h, undefined, undefined, 40002);
    await second.learnNonce();
    const answered = second.sendRaw(second.builder.build(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]));
    for (let i = 0; i < 5 && relays.release === undefined; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(relays.release).toBeDefined();
    if (what.includes("revoked")) {
      // What a revocation does on a relay thread: refuse the username, end its allocations.
      live.revoke("alice", h.clock.now());
      expect(h.service.endAllocationsOf("alice")).toBe(1);
    } else {
      (h.deps.options as { draining?: boolean }).draining = true;
    }
    relays.release!();
    const [answer] = await answered;
    const response = decode(answer!);
    expect(errorCode(response)).toBe(code);
    // A 401 is a fresh challenge, unsigned like every other; a 403 to an authenticated request stays signed.
    expect(hasAttribute(response, "MESSAGE-INTEGRITY")).toBe(code === 403);
    if (code === 401) expect(getAttribute(response, "NONCE")).toMatch(/^obMatJos2/);
    expect(h.deps.table.size).toBe(what.includes("revoked") ? 0 : 1);
    expect(h.ledger.total).toBe(h.deps.table.size);
    expect(relays.sockets.filter((socket) => !socket.closed).length).toBe(h.deps.table.size);
  });

  it("keeps a token claim whose nonce went stale while it waited: the client was already granted it", async () => {
    const relays = new SlowClaimAllocator(undefined, undefined);
    const h = createTurnHarness({ relays });
    const first = new HarnessClient(h, undefined, undefined, 40001);
    const token = getAttribute(await first.request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]), "RESERVATION-TOKEN")!;
    const second = new HarnessClient(h, undefined, undefined, 40002);
    await second.learnNonce();
    h.clock.advance(599_000);
    const answered = second.sendRaw(second.builder.build(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]));
    for (let i = 0; i < 5 && relays.release === undefined; i++) await new Promise((resolve) => setImmediate(resolve));
    h.clock.advance(2_000);
    relays.release!();
    const [answer] = await answered;
    expect(decode(answer!).messageClass).toBe(MessageClass.SuccessResponse);
    expect(h.deps.table.size).toBe(2);
  });

  it("gives back an EVEN-PORT reservation made by an Allocate that a drain overtook while it was binding", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.learnNonce();
    h.handle(client.builder.build(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]), client.address, client.port, client.link);
    (h.deps.options as { draining?: boolean }).draining = true;
    const [answer] = await client.received();
    expect(errorCode(decode(answer!))).toBe(403);
    expect(h.deps.table.size).toBe(0);
    expect(h.relays.reservationCount).toBe(0);
    expect(h.ledger.total).toBe(0);
    expect(h.relays.sockets.every((socket) => socket.closed)).toBe(true);
  });

  it("answers 486 past user-quota and counts the quota per username", async () => {
    const h = createTurnHarness({ turn: { userQuota: 2 } });
    for (const port of [40001, 40002]) {
      expect((await new HarnessClient(h, undefined, undefined, port).request(Method.Allocate, [UDP])).messageClass).toBe(
        MessageClass.SuccessResponse,
      );
    }
    expect(errorCode(await new HarnessClient(h, undefined, undefined, 40003).request(Method.Allocate, [UDP]))).toBe(486);
    const bob = new HarnessClient(h, undefined, undefined, 40004, "bob", "builder");
    expect((await bob.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("answers 508 past total-quota", async () => {
    const h = createTurnHarness({ turn: { totalQuota: 1 } });
    await new HarnessClient(h, undefined, undefined, 40001).request(Method.Allocate, [UDP]);
    const bob = new HarnessClient(h, undefined, undefined, 40002, "bob", "builder");
    expect(errorCode(await bob.request(Method.Allocate, [UDP]))).toBe(508);
  });

  it("answers 508 when relay ports are exhausted, and allocates again once a port frees", async () => {
    const h = createTurnHarness({ relays: new FakeRelayAllocator([50000]) });
    const first = new HarnessClient(h, undefined, undefined, 40001);
    await first.request(Method.Allocate, [UDP]);
    const second = new HarnessClient(h, undefined, undefined, 40002);
    expect(errorCode(await second.request(Method.Allocate, [UDP]))).toBe(508);
    await first.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }]);
    expect((await second.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("answers 508, not 440, and logs why when the system refuses the relay address itself (a relay-ip this machine lost)", async () => {
    const relays = new FakeRelayAllocator();
    relays.allocate = async () => {
      throw new RelayUnavailableError("bind-failed", "cannot bind a relay socket on 192.0.2.1: bind EADDRNOTAVAIL 192.0.2.1");
    };
    const h = createTurnHarness({ relays });
    const response = await new HarnessClient(h).request(Method.Allocate, [UDP]);
    expect(errorCode(response)).toBe(508);
    expect(h.log.records.find((r) => r.msg === "relay socket not bound")).toMatchObject({ level: "error", obj: { reason: expect.stringContaining("EADDRNOTAVAIL") } });
  });

  it("marks a stream link as carrying an allocation, and the allocation goes at once when the connection closes (§3.1)", async () => {
    const h = createTurnHarness();
    const link = new FakeLink("tcp");
    await new HarnessClient(h, link).request(Method.Allocate, [UDP]);
    expect(link.carriesAllocation).toBe(true);
    h.service.onLinkClosed(link);
    expect(h.deps.table.size).toBe(0);
    expect(h.relays.sockets[0]!.closed).toBe(true);
    expect(h.log.records.filter((r) => r.msg.startsWith("allocation closed")).map((r) => r.msg)).toEqual(["allocation closed with its connection"]);
  });

  it("logs rejected credentials within the log budget (20 a minute, then a count), and none below info", async () => {
    const h = createTurnHarness();
    const reject = async (harness: TurnHarness, port: number): Promise<void> => {
      const client = new HarnessClient(harness, undefined, "198.51.100.7", port, "alice", "not-wonderland");
      expect(errorCode(await client.request(Method.Allocate, [UDP]))).toBe(401);
    };
    for (let i = 0; i < 25; i++) await reject(h, 41000 + i);
    const rejected = () => h.log.records.filter((r) => r.msg === "credential rejected");
    expect(rejected()).toHaveLength(20);
    expect(rejected()[0]).toMatchObject({ level: "info", obj: { username: "alice", reason: "integrity check failed", client: "198.51.100.7:41000" } });
    h.clock.advance(60_000);
    await reject(h, 42000);
    expect(rejected()).toHaveLength(21);
    expect(h.log.records.find((r) => r.msg === "log lines suppressed")?.obj).toMatchObject({ message: "credential rejected", suppressed: 5 });

    const quiet = createTurnHarness({ logLevel: "warn" });
    await reject(quiet, 41000);
    expect(quiet.log.records).toEqual([]);
  });

  it("ends a UDP listener's allocations when it closes (shutdown), saying so", async () => {
    const h = createTurnHarness();
    const link = new FakeLink("udp");
    await new HarnessClient(h, link).request(Method.Allocate, [UDP]);
    h.service.onLinkClosed(link);
    expect(h.deps.table.size).toBe(0);
    expect(h.log.records.filter((r) => r.msg.startsWith("allocation closed")).map((r) => r.msg)).toEqual(["allocation closed with its UDP listener"]);
  });

  it("answers an Allocate before the packet handler returns when its relay socket is bound at once", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.learnNonce();
    h.handle(client.builder.build(Method.Allocate, [UDP]), client.address, client.port, client.link);
    const sent = client.link.take();
    expect(sent.length).toBe(1);
    const response = decode(sent[0]!.data);
    expect(response.messageClass).toBe(MessageClass.SuccessResponse);
    expect(getAttribute(response, "XOR-RELAYED-ADDRESS")).toEqual({ family: "IPv4", address: "198.51.100.1", port: 50000 });
    expect(h.deps.table.size).toBe(1);
    h.handle(client.builder.build(Method.Allocate, [UDP]), client.address, client.port, client.link);
    expect(errorCode(decode(client.link.take()[0]!.data))).toBe(437);
  });

  it.each(BIND_MODES)("keeps nothing of the Allocate request alive with the allocation (%s)", async (_name, atOnce) => {
    v8.setFlagsFromString("--expose-gc");
    const collectGarbage = vm.runInNewContext("gc") as () => void;
    const h = createTurnHarness();
    h.relays.bindsAtOnce = atOnce;
    const client = new HarnessClient(h);
    await client.learnNonce();
    // The request is decoded in place: the message, and anything that holds it, keeps these bytes.
    const request = new WeakRef(client.builder.build(Method.Allocate, [UDP]));
    h.handle(request.deref()!, client.address, client.port, client.link);
    expect(decode((await client.received())[0]!).messageClass).toBe(MessageClass.SuccessResponse);
    expect(h.deps.table.size).toBe(1);
    for (let i = 0; i < 5 && request.deref() !== undefined; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
    }
    expect(request.deref()).toBeUndefined();
    expect(h.relays.sockets.length).toBe(1);
  });

  it("allocates once for an Allocate retransmitted while its relay socket is still being bound, and answers it then", async () => {
    const h = createTurnHarness();
    h.relays.bindsAtOnce = false;
    const client = new HarnessClient(h);
    await client.learnNonce();
    const request = client.builder.build(Method.Allocate, [UDP]);
    h.handle(request, client.address, client.port, client.link);
    h.handle(request, client.address, client.port, client.link);
    const answers = await client.received();
    expect(answers.length).toBe(1);
    expect(decode(answers[0]!).messageClass).toBe(MessageClass.SuccessResponse);
    expect(h.relays.sockets.length).toBe(1);
    const [again] = await client.sendRaw(request);
    expect(again!.equals(answers[0]!)).toBe(true);
    expect(h.relays.sockets.length).toBe(1);
  });

  it.each(["udp", "tcp"] as const)(
    "answers 437 to another Allocate on the 5-tuple (%s) while the first's relay socket is still being bound",
    async (transport) => {
      // Over TCP and TLS nothing is retransmitted: a request left unanswered would wait out its whole transaction timeout.
      const h = createTurnHarness();
      h.relays.bindsAtOnce = false;
      const client = new HarnessClient(h, new FakeLink(transport));
      await client.learnNonce();
      const first = client.builder.build(Method.Allocate, [UDP]);
      const second = client.builder.build(Method.Allocate, [UDP]);
      h.handle(first, client.address, client.port, client.link);
      h.handle(second, client.address, client.port, client.link);
      const answers = (await client.received()).map((bytes) => decode(bytes));
      const byRequest = (request: Buffer) => answers.filter((answer) => answer.transactionId.equals(request.subarray(8, 20)));
      expect(byRequest(second).map((answer) => errorCode(answer))).toEqual([437]);
      expect(byRequest(first).map((answer) => answer.messageClass)).toEqual([MessageClass.SuccessResponse]);
      expect(h.relays.sockets.length).toBe(1);
      expect(h.deps.table.size).toBe(1);
    },
  );

  it.each(BIND_MODES)("gives the quota slot back when the relay cannot be bound (%s)", async (_name, atOnce) => {
    const h = createTurnHarness({ turn: { userQuota: 1 } });
    h.relays.bindsAtOnce = atOnce;
    h.relays.families = [];
    const client = new HarnessClient(h);
    expect(errorCode(await client.request(Method.Allocate, [UDP]))).toBe(440);
    h.relays.families = ["IPv4", "IPv6"];
    expect((await client.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("creates nothing when the TCP connection closed while its relay socket was being bound", async () => {
    const h = createTurnHarness();
    h.relays.bindsAtOnce = false;
    const link = new FakeLink("tcp");
    const client = new HarnessClient(h, link);
    await client.request(Method.Binding);
    await client.learnNonce();
    h.handle(client.builder.build(Method.Allocate, [UDP]), client.address, client.port, link);
    link.open = false; // closes before the relay bind resolves
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(h.deps.table.size).toBe(0);
    expect(h.relays.sockets.every((s) => s.closed)).toBe(true);
  });
});
