import { randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UdpRelayAllocator } from "../../src/transport/relay-allocator.js";
import { clearRelayPortsOf, createRelayPortMapBuffers, mostRelayPortsTaken, RelayPortMap } from "../../src/transport/relay-port-map.js";
import { RelayUnavailableError, type RelaySocket } from "../../src/turn/ports.js";
import { createRecordingLogger } from "../helpers/logger.js";

describe("RelayPortMap", () => {
  it("shows every thread the ports any thread has marked, per address", () => {
    const buffers = createRelayPortMapBuffers(["127.0.0.1", "::1", "127.0.0.1"], 3);
    expect(buffers.addresses).toEqual(["127.0.0.1", "::1"]);
    const [a, b, c] = [0, 1, 2].map((index) => new RelayPortMap(buffers, index)) as [RelayPortMap, RelayPortMap, RelayPortMap];
    for (const port of [0, 31, 32, 40_000, 65_535]) {
      a.mark("127.0.0.1", port, true);
      expect(b.isTaken("127.0.0.1", port)).toBe(true);
      expect(c.isTaken("127.0.0.1", port)).toBe(true);
      expect(b.isTaken("::1", port)).toBe(false);
      expect(b.isTaken("127.0.0.1", port + 1)).toBe(false);
    }
    b.mark("::1", 40_000, true);
    expect(a.isTaken("::1", 40_000)).toBe(true);
    // A thread clears only its own mark: b's mark of the same port stays.
    b.mark("127.0.0.1", 40_000, true);
    a.mark("127.0.0.1", 40_000, false);
    expect(c.isTaken("127.0.0.1", 40_000)).toBe(true);
    b.mark("127.0.0.1", 40_000, false);
    expect(c.isTaken("127.0.0.1", 40_000)).toBe(false);
  });

  it("counts the ports taken in a range on the address with the most, each port once whatever threads mark it: what relay_ports_free takes off", () => {
    const buffers = createRelayPortMapBuffers(["127.0.0.1", "0:0:0:0:0:0:0:1"], 2);
    expect(buffers.addresses).toEqual(["127.0.0.1", "::1"]);
    const [a, b] = [new RelayPortMap(buffers, 0), new RelayPortMap(buffers, 1)];
    // Ten ports on each address, six and four per thread, and the other way round on the other address.
    for (let i = 0; i < 10; i++) {
      (i < 6 ? a : b).mark("127.0.0.1", 50_500 + i, true);
      (i < 4 ? a : b).mark("::1", 50_500 + i, true);
    }
    expect(mostRelayPortsTaken(buffers, 50_500, 50_599)).toBe(10);
    // Both threads on one port, and ports just outside the range, at word edges.
    b.mark("127.0.0.1", 50_500, true);
    a.mark("127.0.0.1", 50_499, true);
    a.mark("127.0.0.1", 50_600, true);
    expect(mostRelayPortsTaken(buffers, 50_500, 50_599)).toBe(10);
    expect(mostRelayPortsTaken(buffers, 50_499, 50_600)).toBe(12);
    for (const port of [0, 31, 32, 65_535]) a.mark("::1", port, true);
    expect(mostRelayPortsTaken(buffers, 0, 65_535)).toBe(14);
    expect(mostRelayPortsTaken(buffers, 31, 32)).toBe(2);
  });

  it("knows nothing of an address it was not made for", () => {
    const map = new RelayPortMap(createRelayPortMapBuffers(["127.0.0.1"], 2), 0);
    map.mark("10.0.0.1", 5000, true);
    expect(map.isTaken("10.0.0.1", 5000)).toBe(false);
  });

  it("frees a dead thread's ports and no one else's", () => {
    const buffers = createRelayPortMapBuffers(["127.0.0.1", "::1"], 2);
    const a = new RelayPortMap(buffers, 0);
    const b = new RelayPortMap(buffers, 1);
    a.mark("127.0.0.1", 1000, true);
    a.mark("::1", 65_535, true);
    b.mark("127.0.0.1", 2000, true);
    clearRelayPortsOf(buffers, 0);
    expect(b.isTaken("127.0.0.1", 1000)).toBe(false);
    expect(b.isTaken("::1", 65_535)).toBe(false);
    expect(a.isTaken("127.0.0.1", 2000)).toBe(true);
  });
});

describe("UdpRelayAllocator with a shared port map (real sockets on 127.0.0.1)", () => {
  const SPAN = 2048;

  function allocatorFor(map: RelayPortMap, minPort: number): UdpRelayAllocator {
    return new UdpRelayAllocator({
      relayIps: ["127.0.0.1"],
      listeningAddresses: [{ address: "127.0.0.1", family: "IPv4" }],
      externalIps: [],
      minPort,
      maxPort: minPort + SPAN - 1,
      clock: { now: () => 0 },
      log: createRecordingLogger(),
      sharedPorts: map,
    });
  }

  const allocate = async (allocator: UdpRelayAllocator): Promise<RelaySocket> =>
    (await allocator.allocate({ family: "IPv4", listeningAddress: "127.0.0.1", onPacket: () => {} })).socket;

  it("finds the one port another thread left free, where failed binds alone would give up", async () => {
    // Below Linux's ephemeral range, so that no other test's sockets land in it, and below the
    // relay-allocator tests' ranges (20,000 and up), which run at the same time: this one needs all 2,048.
    const minPort = randomInt(12_000, 20_000 - SPAN);
    const buffers = createRelayPortMapBuffers(["127.0.0.1"], 2);
    const first = allocatorFor(new RelayPortMap(buffers, 0), minPort);
    const second = allocatorFor(new RelayPortMap(buffers, 1), minPort);
    const held: RelaySocket[] = [];
    try {
      for (let i = 0; i < SPAN - 1; i++) held.push(await allocate(first));
      const taken = new Set(held.map((socket) => socket.port));
      // Without the map the second thread would try 64 ports of 2048 at most: 97% of the time not the free one.
      const last = await allocate(second);
      held.push(last);
      expect(taken.has(last.port)).toBe(false);
      expect(last.port).toBeGreaterThanOrEqual(minPort);
      await expect(allocate(second)).rejects.toBeInstanceOf(RelayUnavailableError);
      // A closed socket's port is free again for either thread.
      const freed = held.shift()!;
      freed.close();
      const again = await allocate(second);
      held.push(again);
      expect(again.port).toBe(freed.port);
    } finally {
      for (const socket of held) socket.close();
    }
  });
});
