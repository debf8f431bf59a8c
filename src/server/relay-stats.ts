import type { Config } from "../config/config.js";
import type { TrafficCounters } from "../turn/counters.js";
import { effectiveTotalQuota } from "../turn/quota.js";
import type { HeapSample } from "./heap-trim.js";
import type { RelayStats } from "./relay-node.js";

/** The monotonic totals of RelayStats: what /metrics exports as counters. */
export type RelayCounters = Pick<
  RelayStats,
  | "clientMessages"
  | "allocationsCreated"
  | "allocationsExpired"
  | "allocationsDeleted"
  | "relay"
  | "droppedPackets"
  | "bandwidthDroppedPackets"
  | "bindingRequests"
  | "unauthenticatedAnswersDropped"
  | "errorResponses"
  | "heapTrims"
>;

/** The counters of `all` summed (and nothing else of them: a RelayStats gives up its gauges). */
export function sumCounters(all: readonly RelayCounters[]): RelayCounters {
  const traffic = (transport: "udp" | "tcp" | "tls"): TrafficCounters => ({
    clientToPeerPackets: sum(all, (s) => s.relay[transport].clientToPeerPackets),
    clientToPeerBytes: sum(all, (s) => s.relay[transport].clientToPeerBytes),
    peerToClientPackets: sum(all, (s) => s.relay[transport].peerToClientPackets),
    peerToClientBytes: sum(all, (s) => s.relay[transport].peerToClientBytes),
  });
  const errorResponses: Record<number, number> = {};
  for (const stats of all) for (const [code, n] of Object.entries(stats.errorResponses)) errorResponses[Number(code)] = (errorResponses[Number(code)] ?? 0) + n;
  return {
    clientMessages: sum(all, (s) => s.clientMessages),
    allocationsCreated: sum(all, (s) => s.allocationsCreated),
    allocationsExpired: sum(all, (s) => s.allocationsExpired),
    allocationsDeleted: sum(all, (s) => s.allocationsDeleted),
    relay: { udp: traffic("udp"), tcp: traffic("tcp"), tls: traffic("tls") },
    droppedPackets: sum(all, (s) => s.droppedPackets),
    bandwidthDroppedPackets: sum(all, (s) => s.bandwidthDroppedPackets),
    bindingRequests: sum(all, (s) => s.bindingRequests),
    unauthenticatedAnswersDropped: sum(all, (s) => s.unauthenticatedAnswersDropped),
    errorResponses,
    heapTrims: sum(all, (s) => s.heapTrims),
  };
}

/**
 * How busy a thread has been, as a running total: every datagram and frame from a client (requests
 * answered or not, indications, ChannelData, junk), every datagram from a peer (relayed or dropped),
 * and every allocation that expired. Each message counts about once; a dropped client packet twice.
 */
export function activityOf(counters: Omit<RelayCounters, "heapTrims">): number {
  let total = counters.clientMessages + counters.allocationsExpired + counters.droppedPackets;
  for (const traffic of Object.values(counters.relay)) total += traffic.peerToClientPackets;
  return total;
}

/** What the heap trim watches in one thread's figures, or in the relay threads' sum. */
export function heapSampleOf(stats: Omit<RelayCounters, "heapTrims"> & Pick<RelayStats, "allocations">): HeapSample {
  return { allocations: stats.allocations, ended: stats.allocationsExpired + stats.allocationsDeleted, activity: activityOf(stats) };
}

/**
 * The relay threads' figures as one: the live threads' gauges, and counters that also keep what
 * threads that exited had counted (`retired`), so that no counter goes down when a thread dies.
 */
export function sumStats(live: readonly RelayStats[], retired: RelayCounters, config: Config): RelayStats {
  const span = config.maxPort - config.minPort + 1;
  return {
    ...sumCounters([...live, retired]),
    allocations: sum(live, (s) => s.allocations),
    permissions: sum(live, (s) => s.permissions),
    channels: sum(live, (s) => s.channels),
    maxBps: config.maxBps,
    bpsCapacity: config.bpsCapacity,
    totalQuota: effectiveTotalQuota(config),
    // Threads share one port range: what each has in use comes off the same span.
    relayPortsFree: Math.max(0, span - sum(live, (s) => span - s.relayPortsFree)),
    relayHeapUsedBytes: sum(live, (s) => s.relayHeapUsedBytes),
    relayHeapSizeBytes: sum(live, (s) => s.relayHeapSizeBytes),
  };
}

function sum<T>(all: readonly T[], pick: (stats: T) => number): number {
  let total = 0;
  for (const stats of all) total += pick(stats);
  return total;
}
