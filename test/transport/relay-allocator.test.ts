import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { UdpRelayAllocator } from "../../src/transport/relay-allocator.js";
import type { RelaySocket } from "../../src/turn/ports.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const SPAN = 256;
/** A claimer with a quota slot of its own: any reservation is its to take. */
const BOB_WITH_ROOM = { username: "bob", hasQuotaSlot: true };

describe("UdpRelayAllocator EVEN-PORT reservations (RFC 8656 §7.2, real sockets on 127.0.0.1)", () => {
  const opened: RelaySocket[] = [];
  const allocators: UdpRelayAllocator[] = [];
  afterEach(() => {
    for (const socket of opened.splice(0)) socket.close();
    for (const allocator of allocators.splice(0)) allocator.close();
  });

  function setup() {
    const clock = new ManualClock();
    // Even, and below Linux's ephemeral range, so that no other test's sockets land in it.
    const minPort = 2 * randomInt(10_000, (32_768 - SPAN) / 2);
    const allocator = new UdpRelayAllocator({
      relayIps: ["127.0.0.1"],
      listeningAddresses: [{ address: "127.0.0.1", family: "IPv4" }],
      externalIps: [],
      minPort,
      maxPort: minPort + SPAN - 1,
      clock,
      log: createRecordingLogger(),
    });
    allocators.push(allocator);
    const ended: number[] = [];
    let next = 0;
    /** An even port and its reserved next; `ended` gets the reservation's number when it ends. */
    const reserve = async (owner = "alice"): Promise<{ token: Buffer; port: number }> => {
      const n = next++;
      const allocation = await allocator.allocate({
        family: "IPv4",
        listeningAddress: "127.0.0.1",
        evenPort: { reserveNext: true, owner, onReservationEnd: () => ended.push(n) },
        onPacket: () => {},
      });
      opened.push(allocation.socket);
      return { token: allocation.reservationToken!, port: allocation.socket.port };
    };
    return { clock, allocator, ended, reserve };
  }

  it("reports a reservation's end once when its token is claimed here", async () => {
    const { allocator, ended, reserve } = setup();
    const { token, port } = await reserve();
    expect(ended).toEqual([]);
    const claimed = await allocator.claimReservation(token, BOB_WITH_ROOM, () => {});
    opened.push(claimed);
    expect(claimed.port).toBe(port + 1);
    expect(ended).toEqual([0]);
    await expect(allocator.claimReservation(token, BOB_WITH_ROOM, () => {})).rejects.toThrow("unknown or expired RESERVATION-TOKEN");
    allocator.close();
    expect(ended).toEqual([0]);
  });

  it("leaves another user's reservation alone for a claimer without a quota slot, here and for another relay thread; its owner still takes it", async () => {
    const { allocator, ended, reserve } = setup();
    const here = await reserve();
    const there = await reserve();
    const bobAtQuota = { username: "bob", hasQuotaSlot: false };
    await expect(allocator.claimReservation(here.token, bobAtQuota, () => {})).rejects.toMatchObject({ reason: "not-yours" });
    expect(allocator.releaseReservation(there.token.toString("hex"), bobAtQuota)).toBe("not-yours");
    expect(ended).toEqual([]);
    const aliceAtQuota = { username: "alice", hasQuotaSlot: false };
    const claimed = await allocator.claimReservation(here.token, aliceAtQuota, () => {});
    opened.push(claimed);
    expect(claimed.port).toBe(here.port + 1);
    expect(allocator.releaseReservation(there.token.toString("hex"), aliceAtQuota)).toEqual({ address: "127.0.0.1", family: "IPv4", port: there.port + 1 });
    expect(ended).toEqual([0, 1]);
  });

  it("ends a revoked user's reservations, and only theirs, each reported once", async () => {
    const { allocator, ended, reserve } = setup();
    const alices = await reserve("alice");
    const bobs = await reserve("bob");
    allocator.dropReservationsOf("alice");
    expect(ended).toEqual([0]);
    await expect(allocator.claimReservation(alices.token, BOB_WITH_ROOM, () => {})).rejects.toThrow("unknown or expired RESERVATION-TOKEN");
    // Its port is free again.
    const rebound = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      rebound.once("error", reject);
      rebound.bind(alices.port + 1, "127.0.0.1", resolve);
    });
    rebound.close();
    const claimed = await allocator.claimReservation(bobs.token, BOB_WITH_ROOM, () => {});
    opened.push(claimed);
    allocator.close();
    expect(ended).toEqual([0, 1]);
  });

  it("reports a reservation's end once when it is released for another relay thread to bind", async () => {
    const { allocator, ended, reserve } = setup();
    const { token, port } = await reserve();
    expect(allocator.releaseReservation(token.toString("hex"))).toEqual({ address: "127.0.0.1", family: "IPv4", port: port + 1 });
    expect(ended).toEqual([0]);
    expect(allocator.releaseReservation(token.toString("hex"))).toBeUndefined();
    allocator.close();
    expect(ended).toEqual([0]);
  });

  it("refuses a token past its 30 s before the sweeper has run, here and for another relay thread", async () => {
    const { clock, allocator, ended, reserve } = setup();
    const first = await reserve();
    const second = await reserve();
    clock.advance(30_000);
    await expect(allocator.claimReservation(first.token, BOB_WITH_ROOM, () => {})).rejects.toThrow("unknown or expired RESERVATION-TOKEN");
    expect(allocator.releaseReservation(second.token.toString("hex"))).toBeUndefined();
    expect(ended).toEqual([0, 1]);
    allocator.close();
    expect(ended).toEqual([0, 1]);
  });

  it("reports a reservation's end once when it expires after 30 s, and those still held when the allocator closes", async () => {
    const { clock, allocator, ended, reserve } = setup();
    await reserve();
    clock.advance(10_000);
    await reserve();
    clock.advance(19_999);
    allocator.sweepReservations(clock.now());
    expect(ended).toEqual([]);
    clock.advance(1);
    allocator.sweepReservations(clock.now());
    expect(ended).toEqual([0]);
    allocator.sweepReservations(clock.now());
    expect(ended).toEqual([0]);
    allocator.close();
    expect(ended).toEqual([0, 1]);
  });
});

describe("UdpRelayAllocator plain relays (real sockets on 127.0.0.1)", () => {
  const opened: { close(): void }[] = [];
  afterEach(() => {
    for (const socket of opened.splice(0)) socket.close();
  });

  function allocatorOn(minPort: number, maxPort: number): UdpRelayAllocator {
    return new UdpRelayAllocator({
      relayIps: ["127.0.0.1"],
      listeningAddresses: [{ address: "127.0.0.1", family: "IPv4" }],
      externalIps: [],
      minPort,
      maxPort,
      clock: new ManualClock(),
      log: createRecordingLogger(),
    });
  }

  async function takePort(port: number): Promise<void> {
    const socket = dgram.createSocket("udp4");
    opened.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ address: "127.0.0.1", port, exclusive: true }, resolve);
    });
  }

  it("binds at once, without a promise, past a port another process holds; throws at once when none is free", async () => {
    const minPort = 2 * randomInt(10_000, 16_000);
    const allocator = allocatorOn(minPort, minPort + 1);
    await takePort(minPort);
    const request = { family: "IPv4" as const, listeningAddress: "127.0.0.1", onPacket: () => {} };
    const first = allocator.allocate(request);
    expect(first).not.toBeInstanceOf(Promise);
    const { socket } = first as Exclude<typeof first, Promise<unknown>>;
    opened.push(socket);
    expect(socket.port).toBe(minPort + 1);
    expect(() => allocator.allocate(request)).toThrow(/no free relay port/);
    socket.close();
    expect(() => opened.push((allocator.allocate(request) as Exclude<typeof first, Promise<unknown>>).socket)).not.toThrow();
  });

  it("takes a relay socket's error after its bind in its stride: later binds are judged on their own outcome", () => {
    const minPort = 2 * randomInt(10_000, 16_000);
    const allocator = allocatorOn(minPort, minPort + 3);
    const request = { family: "IPv4" as const, listeningAddress: "127.0.0.1", onPacket: () => {} };
    const first = allocator.allocate(request) as Exclude<ReturnType<UdpRelayAllocator["allocate"]>, Promise<unknown>>;
    opened.push(first.socket);
    // As dgram reports a failed receive; a socket with no error listener would throw it.
    const inner = (first.socket as unknown as { socket: dgram.Socket }).socket;
    expect(() => inner.emit("error", Object.assign(new Error("recvmsg ECONNREFUSED"), { code: "ECONNREFUSED" }))).not.toThrow();
    const second = allocator.allocate(request);
    expect(second).not.toBeInstanceOf(Promise);
    opened.push((second as typeof first).socket);
    expect((second as typeof first).socket.port).not.toBe(first.socket.port);
    expect(allocator.freePorts()).toBe(2);
  });

  it("waits for a bind that dgram defers, past a port another process holds, and frees what it bound", async () => {
    const minPort = 2 * randomInt(10_000, 16_000);
    const allocator = allocatorOn(minPort, minPort + 1);
    await takePort(minPort);
    const request = { family: "IPv4" as const, listeningAddress: "127.0.0.1", onPacket: () => {} };
    // No Node.js version defers an IP literal's bind today; this one is made to.
    const bind = dgram.Socket.prototype.bind;
    dgram.Socket.prototype.bind = function (this: dgram.Socket, ...args: Parameters<typeof bind>) {
      setImmediate(() => bind.apply(this, args));
      return this;
    } as typeof bind;
    try {
      const pending = allocator.allocate(request);
      expect(pending).toBeInstanceOf(Promise);
      const { socket } = await pending;
      opened.push(socket);
      expect(socket.port).toBe(minPort + 1);
      await expect(Promise.resolve().then(() => allocator.allocate(request))).rejects.toThrow(/no free relay port/);
      socket.close();
      expect(allocator.freePorts()).toBe(2);
    } finally {
      dgram.Socket.prototype.bind = bind;
    }
  });
});

describe("UdpRelayAllocator relay sockets once closed", () => {
  it("let go of their allocation's packet handler (a removed allocation may be kept for its hidden class)", () => {
    const minPort = 2 * randomInt(16_000, 20_000);
    const allocator = new UdpRelayAllocator({
      relayIps: ["127.0.0.1"],
      listeningAddresses: [{ address: "127.0.0.1", family: "IPv4" }],
      externalIps: [],
      minPort,
      maxPort: minPort + 63,
      clock: new ManualClock(),
      log: createRecordingLogger(),
    });
    try {
      const onPacket = (): void => {};
      const bound = allocator.allocate({ family: "IPv4", listeningAddress: "127.0.0.1", onPacket });
      const { socket } = bound as Exclude<typeof bound, Promise<unknown>>;
      const relay = socket as RelaySocket & { handler: unknown };
      expect(relay.handler).toBe(onPacket);
      socket.close();
      expect(relay.handler).not.toBe(onPacket);
    } finally {
      allocator.close();
    }
  });
});

describe("UdpRelayAllocator relay addresses without relay-ip", () => {
  const opened: { close(): void }[] = [];
  afterEach(() => {
    for (const socket of opened.splice(0)) socket.close();
  });

  function allocatorListeningOn(listening: readonly string[], externalIps: readonly { public: string; private?: string }[] = []): UdpRelayAllocator {
    // Below the ephemeral range, and clear of the other tests' ranges (12,000 and up).
    const minPort = 2 * randomInt(4_000, 5_500);
    return new UdpRelayAllocator({
      relayIps: [],
      listeningAddresses: listening.map((address) => ({ address, family: address.includes(":") ? "IPv6" : "IPv4" })),
      externalIps,
      minPort,
      maxPort: minPort + 63,
      clock: new ManualClock(),
      log: createRecordingLogger(),
    });
  }
  const bound = (allocation: ReturnType<UdpRelayAllocator["allocate"]>): RelaySocket => {
    const { socket } = allocation as Exclude<typeof allocation, Promise<unknown>>;
    opened.push(socket);
    return socket;
  };

  it("relays the other family on an address that reaches as far as the one the client reached: loopback for a client on loopback, never for one from beyond (440)", () => {
    const allocator = allocatorListeningOn(["127.0.0.1", "::1"]);
    expect(bound(allocator.allocate({ family: "IPv6", listeningAddress: "127.0.0.1", onPacket: () => {} })).address).toBe("::1");
    expect(bound(allocator.allocate({ family: "IPv4", listeningAddress: "::1", onPacket: () => {} })).address).toBe("127.0.0.1");
    // A browser that reached a global IPv6 address asks for an IPv4 relay (the default family): loopback is all there is.
    expect(() => allocator.allocate({ family: "IPv4", listeningAddress: "2001:db8::1", onPacket: () => {} })).toThrow("no IPv4 relay address");
    expect(() => allocator.allocate({ family: "IPv4", listeningAddress: "fe80::1", onPacket: () => {} })).toThrow("no IPv4 relay address");
  });

  it("matches an external-ip's private address whatever its spelling", () => {
    const allocator = allocatorListeningOn(["127.0.0.1", "0:0:0:0:0:0:0:1"], [{ public: "2001:db8::5", private: "0:0:0:0:0:0:0:1" }, { public: "198.51.100.5", private: "127.0.0.1" }]);
    const six = bound(allocator.allocate({ family: "IPv6", listeningAddress: "::1", onPacket: () => {} }));
    expect(six.address).toBe("::1");
    expect(allocator.advertisedAddress(six)).toBe("2001:db8::5");
    const mapped = allocatorListeningOn(["::1"], [{ public: "2001:db8::6", private: "0::1" }]);
    expect(mapped.advertisedAddress(bound(mapped.allocate({ family: "IPv6", listeningAddress: "::1", onPacket: () => {} })))).toBe("2001:db8::6");
  });
});
