// Prometheus metrics, read from the core's plain counters at scrape time: nothing is counted
// here, and no label carries a user or an address (bounded cardinality).
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { ClientTransport } from "../turn/ports.js";
import type { RelayTrafficStats, ServerStats } from "./api-deps.js";
import type { ResponseCount } from "./response-counts.js";

export interface MetricsRegistry {
  readonly contentType: string;
  /** Reads the stats once and renders every metric in the text exposition format. */
  scrape(): Promise<string>;
  clear(): void;
}

const DIRECTIONS = ["client_to_peer", "peer_to_client"] as const;

// prom-client's process metrics (CPU, memory, event loop lag, GC) install observers that are
// never removed, so they are collected once per process, into a registry of our own (not the
// global one), and shared by every endpoint.
let processMetrics: Registry | undefined;

function processMetricsRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/** `apiResponses`: the endpoint's own responses so far, by route and status code. */
export function createMetricsRegistry(readStats: () => ServerStats, apiResponses: () => Iterable<ResponseCount> = () => []): MetricsRegistry {
  // The turnpike metrics of this endpoint: several servers (and tests) can run in one process.
  const own = new Registry();
  // Set by scrape() just before the collect() callbacks run, so one scrape sees one snapshot.
  let stats: ServerStats | undefined;
  const current = (): ServerStats => stats ?? readStats();
  const registers = [own];

  const gauge = (name: string, help: string, read: (s: ServerStats) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(current()));
      },
    });
  };
  const counter = (name: string, help: string, read: (s: ServerStats) => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(current()));
      },
    });
  };

  gauge("turnpike_allocations", "Live TURN allocations.", (s) => s.allocations);
  gauge("turnpike_permissions", "Installed permissions across all allocations.", (s) => s.permissions);
  gauge("turnpike_channels", "Bound channels across all allocations.", (s) => s.channels);
  gauge("turnpike_relay_ports_free", "Relay ports still free in the configured range.", (s) => s.relayPortsFree);
  gauge("turnpike_relay_heap_used_bytes", "V8 heap used by the relay threads, summed.", (s) => s.relayHeapUsedBytes);
  gauge("turnpike_relay_heap_size_bytes", "V8 heap the relay threads hold from the system, used or not, summed.", (s) => s.relayHeapSizeBytes);
  counter("turnpike_relay_heap_trims_total", "Memory-reducing collections the relay threads ran after most of their allocations ended or a burst grew their heap.", (s) => s.heapTrims);
  gauge("turnpike_relay_threads_up", "Relay threads running.", (s) => s.relayThreadsUp);
  counter("turnpike_relay_thread_restarts_total", "Relay threads restarted after dying.", (s) => s.relayThreadRestarts);
  // With redis-url only: a server without it has nothing to be connected to.
  if (readStats().sharedRevocations !== undefined) {
    gauge("turnpike_redis_connected", "1 while revocations are shared with the other nodes through redis-url, else 0.", (s) => (s.sharedRevocations === "ready" ? 1 : 0));
  }
  counter("turnpike_allocations_created_total", "Allocations created.", (s) => s.allocationsCreated);
  counter("turnpike_allocations_expired_total", "Allocations whose lifetime ran out.", (s) => s.allocationsExpired);
  counter("turnpike_allocations_deleted_total", "Allocations deleted before expiry.", (s) => s.allocationsDeleted);
  counter("turnpike_dropped_packets_total", "Packets dropped instead of relayed.", (s) => s.droppedPackets);
  counter("turnpike_bandwidth_dropped_packets_total", "Packets dropped because their allocation was over max-bps.", (s) => s.bandwidthDroppedPackets);
  gauge("turnpike_allocation_bandwidth_limit_bytes_per_second", "max-bps: bytes per second one allocation may relay; 0 for no limit.", (s) => s.maxBps);
  gauge("turnpike_bandwidth_capacity_bytes_per_second", "bps-capacity: the server's bandwidth in bytes per second; 0 for no limit.", (s) => s.bpsCapacity);
  counter("turnpike_client_messages_total", "Datagrams and frames received from clients (STUN messages, ChannelData and anything else), answered or not.", (s) => s.clientMessages);
  counter("turnpike_binding_requests_total", "STUN Binding requests answered.", (s) => s.bindingRequests);
  counter(
    "turnpike_unauthenticated_answers_dropped_total",
    "Error responses to unauthenticated requests not sent because their source IP (IPv6: /64) was over unauthorized-ratelimit.",
    (s) => s.unauthenticatedAnswersDropped,
  );

  type Direction = (typeof DIRECTIONS)[number];
  const relayCounter = (name: string, help: string, read: (t: RelayTrafficStats, d: Direction) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ["direction", "transport"] as const,
      registers,
      collect() {
        this.reset();
        for (const [transport, traffic] of Object.entries(current().relay) as [ClientTransport, RelayTrafficStats][]) {
          for (const direction of DIRECTIONS) this.inc({ direction, transport }, read(traffic, direction));
        }
      },
    });
  };
  relayCounter("turnpike_relayed_packets_total", "Packets relayed, by direction and client transport.", (t, d) =>
    d === "client_to_peer" ? t.clientToPeerPackets : t.peerToClientPackets,
  );
  relayCounter("turnpike_relayed_bytes_total", "Payload bytes relayed, by direction and client transport.", (t, d) =>
    d === "client_to_peer" ? t.clientToPeerBytes : t.peerToClientBytes,
  );

  new Counter({
    name: "turnpike_error_responses_total",
    help: "STUN error responses sent, by error code; authentication failures are 401, 438 and 441.",
    labelNames: ["code"] as const,
    registers,
    collect() {
      this.reset();
      for (const [code, count] of Object.entries(current().errorResponses)) this.inc({ code }, count);
    },
  });

  new Counter({
    name: "turnpike_api_responses_total",
    help: "Responses of this HTTP endpoint, by route pattern and status code (429: over api-rate-limit; 401: no or a wrong API key).",
    labelNames: ["route", "code"] as const,
    registers,
    collect() {
      this.reset();
      for (const { route, code, count } of apiResponses()) this.inc({ route, code }, count);
    },
  });

  const registry = Registry.merge([processMetricsRegistry(), own]);
  return {
    contentType: registry.contentType,
    async scrape() {
      stats = readStats();
      try {
        return await registry.metrics();
      } finally {
        stats = undefined;
      }
    },
    clear() {
      own.clear();
      registry.clear();
    },
  };
}
