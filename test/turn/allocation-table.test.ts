import { describe, expect, it } from "vitest";
import { channelCount, channelList, findChannelByNumber, findChannelByPeer, type Allocation } from "../../src/turn/allocation.js";
import {
  addAllocation,
  allAllocations,
  bindChannelIn,
  createAllocationTable,
  findAllocation,
  installPermissionIn,
  removeAllocation,
  setExpiry,
  sweepExpired,
  uncount,
  type AllocationTable,
} from "../../src/turn/allocation-table.js";
import type { ClientLink, RelaySocket } from "../../src/turn/ports.js";
import { FakeLink } from "../helpers/fakes.js";

const T0 = 1_700_000_000_000;
const LINK: ClientLink = new FakeLink();
const RELAY = { family: "IPv4", address: "192.0.2.10", port: 50000, close() {} } as unknown as RelaySocket;
const PEER = { address: "203.0.113.5", port: 6000 };

function allocation(index: number, expiresAtMs: number): Allocation {
  return {
    fiveTuple: { link: LINK, clientAddress: `198.51.${index >> 8}.${index & 255}`, clientPort: 40000 },
    username: "alice",
    relays: [RELAY],
    expiresAtMs,
    permissions: new Map(),
    channel: undefined,
    channelsByNumber: undefined,
    channelsByPeer: undefined,
    bandwidth: undefined,
    allocateAnswer: { transactionIdHex: "00", lifetimeSeconds: 600 },
  };
}

function recount(table: AllocationTable): { permissions: number; channels: number } {
  let permissions = 0;
  let channels = 0;
  for (const entry of allAllocations(table)) {
    permissions += entry.permissions.size;
    channels += channelCount(entry);
  }
  return { permissions, channels };
}

/** After a sweep at `nowMs`: no allocation, permission or channel binding past its lifetime is left. */
function expectNothingExpiredLeft(table: AllocationTable, nowMs: number): void {
  for (const entry of allAllocations(table)) {
    expect(entry.expiresAtMs).toBeGreaterThan(nowMs);
    for (const permission of entry.permissions.values()) expect(permission.expiresAtMs).toBeGreaterThan(nowMs);
    for (const binding of channelList(entry)) expect(binding.expiresAtMs).toBeGreaterThan(nowMs);
  }
}

describe("the allocation table's sweeper", () => {
  it("visits only the allocations with something due, not the whole table", () => {
    const table = createAllocationTable();
    const all = Array.from({ length: 1_000 }, (_, i) => allocation(i, T0 + 600_000));
    for (const entry of all) addAllocation(table, entry);
    installPermissionIn(table, all[7]!, PEER.address, T0);

    expect(sweepExpired(table, T0 + 299_000).visited).toBe(0);
    const atPermissionExpiry = sweepExpired(table, T0 + 300_000);
    expect(atPermissionExpiry).toMatchObject({ visited: 1, expiredPermissions: 1, expiredAllocations: [] });
    expect(all[7]!.permissions.size).toBe(0);

    const atLifetime = sweepExpired(table, T0 + 600_000);
    expect(atLifetime.visited).toBe(1_000);
    expect(atLifetime.expiredAllocations).toHaveLength(1_000);
    expect(table.size).toBe(0);
    expect(table.sweeps.size).toBe(0);
  });

  it("schedules nothing for an allocation removed before its time, and keeps no reference to it", () => {
    const table = createAllocationTable();
    const entry = allocation(1, T0 + 3_600_000);
    addAllocation(table, entry);
    installPermissionIn(table, entry, PEER.address, T0);
    removeAllocation(table, entry);
    expect(table.sweeps.size).toBe(0);
    expect(table.sweeps.bucketCount).toBe(0);
    expect(sweepExpired(table, T0 + 3_600_000).visited).toBe(0);
  });

  it("ends an allocation whose lifetime was shortened at its new time, and keeps one lengthened", () => {
    const table = createAllocationTable();
    const shortened = allocation(1, T0 + 3_600_000);
    const lengthened = allocation(2, T0 + 600_000);
    addAllocation(table, shortened);
    addAllocation(table, lengthened);
    setExpiry(table, shortened, T0 + 600_000);
    setExpiry(table, lengthened, T0 + 3_600_000);

    expect(sweepExpired(table, T0 + 599_000).expiredAllocations).toEqual([]);
    expect(sweepExpired(table, T0 + 600_000).expiredAllocations).toEqual([shortened]);
    expect(sweepExpired(table, T0 + 3_599_000).expiredAllocations).toEqual([]);
    expect(sweepExpired(table, T0 + 3_600_000).expiredAllocations).toEqual([lengthened]);
  });

  it("ends a channel's permission at 300 s, the channel at 600 s, on an allocation of an hour", () => {
    const table = createAllocationTable();
    const entry = allocation(1, T0 + 3_600_000);
    addAllocation(table, entry);
    expect(bindChannelIn(table, entry, 0x4000, PEER, RELAY, T0, 10)).toBe("bound");
    expect(table).toMatchObject({ permissionsInForce: 1, channelsInForce: 1 });

    expect(sweepExpired(table, T0 + 300_000)).toMatchObject({ expiredPermissions: 1, expiredChannels: 0 });
    expect(table).toMatchObject({ permissionsInForce: 0, channelsInForce: 1 });
    expect(sweepExpired(table, T0 + 600_000)).toMatchObject({ expiredPermissions: 0, expiredChannels: 1 });
    expect(table).toMatchObject({ permissionsInForce: 0, channelsInForce: 0 });
    expect(table.size).toBe(1);
  });

  it("keeps its permission and channel counts equal to what the allocations hold", () => {
    const table = createAllocationTable();
    const entries = Array.from({ length: 6 }, (_, i) => allocation(i, T0 + 600_000));
    for (const entry of entries) addAllocation(table, entry);
    let nowMs = T0;
    // A fixed walk through every way a permission or channel comes and goes.
    for (let step = 0; step < 400; step++) {
      const index = (step * 7) % entries.length;
      // Requests act on allocations the table holds: one it has expired or removed is replaced.
      if (findAllocation(table, LINK, entries[index]!.fiveTuple.clientAddress, 40000) !== entries[index]) {
        entries[index] = allocation(100 + step, nowMs + 600_000);
        addAllocation(table, entries[index]);
      }
      const entry = entries[index]!;
      const peer = { address: `203.0.113.${step % 5}`, port: 6000 + (step % 3) };
      switch (step % 8) {
        case 0:
        case 1:
          installPermissionIn(table, entry, peer.address, nowMs);
          break;
        case 2:
        case 3:
          bindChannelIn(table, entry, 0x4000 + (step % 4), peer, RELAY, nowMs, 3);
          break;
        case 4: {
          // Another removal, as a peer policy change makes one.
          const [first] = entry.permissions.keys();
          if (first !== undefined) {
            entry.permissions.delete(first);
            uncount(table, { permissions: 1, channels: 0 });
          }
          break;
        }
        case 5:
          setExpiry(table, entry, nowMs + 600_000);
          break;
        case 6:
          nowMs += 37_000;
          sweepExpired(table, nowMs);
          expectNothingExpiredLeft(table, nowMs);
          break;
        case 7:
          if (step % 56 === 7) removeAllocation(table, entry);
          break;
      }
      expect({ permissions: table.permissionsInForce, channels: table.channelsInForce }).toEqual(recount(table));
      // Every allocation in the table is scheduled, and nothing else.
      expect(table.sweeps.size).toBe(table.size);
    }
    expect(table.permissionsInForce + table.channelsInForce).toBeGreaterThan(0);
  });
});

describe("the allocation table's shape", () => {
  it("holds an address's one allocation directly, a Map by port only while the address has two or more", () => {
    const table = createAllocationTable();
    const first = allocation(1, T0 + 600_000);
    const second: Allocation = { ...allocation(1, T0 + 600_000), fiveTuple: { ...first.fiveTuple, clientPort: 40001 } };
    const address = first.fiveTuple.clientAddress;
    addAllocation(table, first);
    expect(table.byLink.get(LINK)!.get(address)).toBe(first);
    expect(findAllocation(table, LINK, address, 40000)).toBe(first);
    expect(findAllocation(table, LINK, address, 40001)).toBeUndefined();

    addAllocation(table, second);
    expect(table.byLink.get(LINK)!.get(address)).toBeInstanceOf(Map);
    expect(findAllocation(table, LINK, address, 40000)).toBe(first);
    expect(findAllocation(table, LINK, address, 40001)).toBe(second);
    expect(allAllocations(table)).toEqual([first, second]);

    removeAllocation(table, first);
    expect(table.byLink.get(LINK)!.get(address)).toBe(second);
    expect(findAllocation(table, LINK, address, 40000)).toBeUndefined();
    expect(findAllocation(table, LINK, address, 40001)).toBe(second);
    // Removing one no longer held changes nothing.
    removeAllocation(table, first);
    expect(table.size).toBe(1);
    removeAllocation(table, second);
    expect(table.byLink.size).toBe(0);
    expect(table.size).toBe(0);

    // One added on a 5-tuple that has one takes its place, as in a Map (the Allocate handler adds none such).
    const again: Allocation = { ...allocation(1, T0 + 600_000) };
    addAllocation(table, first);
    addAllocation(table, again);
    expect(table.byLink.get(LINK)!.get(address)).toBe(again);
  });

  it("holds an allocation's one channel without Maps, two or more in them, and drops them back at one", () => {
    const table = createAllocationTable();
    const entry = allocation(1, T0 + 3_600_000);
    addAllocation(table, entry);
    const other = { address: "203.0.113.6", port: 6001 };
    expect(bindChannelIn(table, entry, 0x4000, PEER, RELAY, T0, 10)).toBe("bound");
    expect(entry.channel).toMatchObject({ number: 0x4000, peerAddress: PEER.address, peerPort: PEER.port });
    expect(entry.channelsByNumber ?? entry.channelsByPeer).toBeUndefined();
    expect(findChannelByNumber(entry, 0x4000)).toBe(entry.channel);
    expect(findChannelByNumber(entry, 0x4001)).toBeUndefined();
    expect(findChannelByPeer(entry, PEER.address, PEER.port)).toBe(entry.channel);
    expect(findChannelByPeer(entry, PEER.address, PEER.port + 1)).toBeUndefined();
    expect(findChannelByPeer(entry, other.address, PEER.port)).toBeUndefined();
    // RFC 8656 §12.2: the same number to another peer, or the same peer to another number, is refused.
    expect(bindChannelIn(table, entry, 0x4000, other, RELAY, T0, 10)).toBe("number-in-use");
    expect(bindChannelIn(table, entry, 0x4001, PEER, RELAY, T0, 10)).toBe("peer-bound-elsewhere");

    const first = entry.channel!;
    expect(bindChannelIn(table, entry, 0x4001, other, RELAY, T0 + 1000, 10)).toBe("bound");
    expect(entry.channel).toBeUndefined();
    expect(entry.channelsByNumber!.size).toBe(2);
    expect(findChannelByNumber(entry, 0x4000)).toBe(first);
    expect(findChannelByPeer(entry, other.address, other.port)?.number).toBe(0x4001);
    expect(channelCount(entry)).toBe(2);
    expect(table.channelsInForce).toBe(2);

    // The first ends at T0 + 600 s, the second a second later: one is left, back out of the Maps.
    sweepExpired(table, T0 + 600_000);
    expect(entry.channel?.number).toBe(0x4001);
    expect(entry.channelsByNumber ?? entry.channelsByPeer).toBeUndefined();
    expect(findChannelByNumber(entry, 0x4000)).toBeUndefined();
    expect(findChannelByPeer(entry, other.address, other.port)).toBe(entry.channel);
    expect(table.channelsInForce).toBe(1);
    sweepExpired(table, T0 + 601_000);
    expect(entry.channel).toBeUndefined();
    expect(channelCount(entry)).toBe(0);
    expect(table.channelsInForce).toBe(0);
  });
});
