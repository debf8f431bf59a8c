import { describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import type { RelayStats } from "../../src/server/relay-node.js";
import { activityOf, sumCounters, sumStats } from "../../src/server/relay-stats.js";

const config = configFromObject({ minPort: 50_000, maxPort: 50_999, realm: "example.org" });
const traffic = (n: number) => ({ clientToPeerPackets: n, clientToPeerBytes: 100 * n, peerToClientPackets: 2 * n, peerToClientBytes: 200 * n });
const thread = (n: number): RelayStats => ({
  clientMessages: 100 * n,
  allocations: n,
  permissions: 2 * n,
  channels: 3 * n,
  allocationsCreated: 10 * n,
  allocationsExpired: n,
  allocationsDeleted: n,
  relay: { udp: traffic(n), tcp: traffic(n), tls: traffic(0) },
  droppedPackets: n,
  bandwidthDroppedPackets: n,
  maxBps: 0,
  bpsCapacity: 0,
  bindingRequests: 5 * n,
  unauthenticatedAnswersDropped: 7 * n,
  errorResponses: { 401: 4 * n, 486: n },
  totalQuota: 10_000,
  relayPortsFree: 1000 - 2 * n,
  relayHeapUsedBytes: 1_000_000 * n,
  relayHeapSizeBytes: 1_500_000 * n,
  heapTrims: n,
});

describe("sumStats (the relay threads' figures as one)", () => {
  it("adds what exited threads counted to the live threads' counters, and leaves their gauges out", () => {
    const retired = sumCounters([thread(3), thread(4)]);
    const live = [thread(1), thread(2)];
    const stats = sumStats(live, retired, config);
    expect(stats).toMatchObject({
      clientMessages: 1000,
      allocationsCreated: 100,
      allocationsExpired: 10,
      allocationsDeleted: 10,
      droppedPackets: 10,
      bandwidthDroppedPackets: 10,
      bindingRequests: 50,
      unauthenticatedAnswersDropped: 70,
      errorResponses: { 401: 40, 486: 10 },
      relay: { udp: traffic(10), tcp: traffic(10), tls: traffic(0) },
      // Gauges: the live threads' alone.
      allocations: 3,
      permissions: 6,
      channels: 9,
      relayPortsFree: 1000 - 6,
      relayHeapUsedBytes: 3_000_000,
      relayHeapSizeBytes: 4_500_000,
      heapTrims: 10,
      totalQuota: config.totalQuota,
    });
    expect(Object.keys(retired).sort()).toEqual(
      ["allocationsCreated", "allocationsDeleted", "clientMessages", "allocationsExpired", "bandwidthDroppedPackets", "bindingRequests", "droppedPackets", "errorResponses", "heapTrims", "relay", "unauthenticatedAnswersDropped"].sort(),
    );
  });

  it("counts as activity every message from a client, every datagram from a peer and every expiry, and nothing of the gauges", () => {
    // thread(1): 100 messages from clients, 1 dropped, 1 expired, and 2 datagrams from peers each
    // over UDP and TCP. What clients sent (Bindings, error responses, allocations made and deleted,
    // datagrams to peers) is in the 100 already.
    expect(activityOf(thread(1))).toBe(100 + 1 + 1 + 4);
    expect(activityOf(thread(2))).toBe(2 * activityOf(thread(1)));
    const gaugesChanged: RelayStats = { ...thread(1), allocations: 999, relayHeapUsedBytes: 1 };
    expect(activityOf(gaugesChanged)).toBe(activityOf(thread(1)));
  });

  it("sums nothing to zeros", () => {
    expect(sumStats([], sumCounters([]), config)).toMatchObject({ allocationsCreated: 0, errorResponses: {}, allocations: 0, relayPortsFree: 1000 });
  });
});
