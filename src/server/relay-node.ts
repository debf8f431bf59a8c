import { networkInterfaces } from "node:os";
import { readFile } from "node:fs/promises";
import { getHeapStatistics } from "node:v8";
import { isMainThread } from "node:worker_threads";
import type { ServerStats } from "../api/api-deps.js";
import type { Config } from "../config/config.js";
import type { IpFamily } from "../stun/address.js";
import { createConnectionCaps, type SharedConnectionCount } from "../transport/connection-caps.js";
import { ListenError } from "../transport/listen-error.js";
import { UdpRelayAllocator } from "../transport/relay-allocator.js";
import type { RelayPortMap } from "../transport/relay-port-map.js";
import { StreamListener, type TlsMaterial } from "../transport/stream-listener.js";
import { checkTlsPair } from "../transport/tls-pair.js";
import { DATAGRAM_SENDER, RECEIVED_DATAGRAM, UdpListener } from "../transport/udp-listener.js";
import { REMOVED_ALLOCATION } from "../turn/allocation-table.js";
import type { AllocationQuota, Clock, Logger, ReservationClaimer, ReservationRelease } from "../turn/ports.js";
import { forgetShapes } from "../turn/shape-keeper.js";
import { heapHeldBytes, NO_HEAP_TRIM, startHeapTrim, TRIM_MAX_MAIN_HEAP_BYTES, type HeapSample } from "./heap-trim.js";
import { createCoarseClock } from "./coarse-clock.js";
import { resolveListeningAddresses } from "./listening-addresses.js";
import { heapSampleOf } from "./relay-stats.js";
import { StartupError } from "./startup-error.js";
import { createTurnRuntime } from "./turn-runtime.js";

export interface ListenerInfo {
  readonly transport: "udp" | "tcp" | "tls";
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
}

export type Endpoint = { readonly address: string; readonly port: number };
export type { ReservationRelease };
/** One relay thread's figures. */
export type RelayStats = Omit<ServerStats, "listenersUp" | "draining" | "relayThreadsUp" | "relayThreadRestarts">;
/** The relay threads' figures together. */
export type BackendStats = Omit<ServerStats, "listenersUp" | "draining">;

/** One relay thread's listeners and TURN state: one per worker thread, or on the caller's thread (inProcess). */
export interface RelayNode {
  readonly listeners: readonly ListenerInfo[];
  stats(): RelayStats;
  /** `tls`: the certificate and key read afresh, for the TLS listeners (absent when none runs). */
  reload(config: Config, tls?: TlsMaterial): void;
  revoke(username: string): number;
  drain(): void;
  /** Endpoints beyond our listeners (the API) that no peer may reach. */
  setExtraOwnEndpoints(endpoints: readonly Endpoint[]): void;
  /** Lets go of a port reserved here (EVEN-PORT) so another relay thread can bind it for its token. */
  releaseReservation(token: string, claimer: ReservationClaimer): ReservationRelease;
  /** Closes every UDP listener (join: binds each again), leaving (joining) their SO_REUSEPORT groups. */
  setUdpInGroups(join: boolean): Promise<void>;
  /** Relay threads regroup: TURN requests from UDP clients this thread does not know go unanswered (TurnService.setRegrouping). */
  setRegrouping(on: boolean): void;
  close(): Promise<void>;
}

export interface RelayNodeOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Several relay threads share the listening ports (SO_REUSEPORT); the kernel spreads clients over them. */
  readonly reusePort?: boolean;
  /** Ports the first thread got, for the others to bind too (listening-port 0 in tests). */
  readonly fixedPorts?: readonly ListenerInfo[];
  /** Quota shared across threads; without it the node keeps its own. */
  readonly quota?: AllocationQuota;
  /** How many relay threads share the listeners. */
  readonly threadCount?: number;
  /** max-tcp-connections and max-tcp-connections-per-ip counted across relay threads; without it, by this node alone. */
  readonly connectionCount?: SharedConnectionCount;
  /** A RESERVATION-TOKEN this thread does not hold: ask the others to release its port. */
  readonly releaseReservationElsewhere?: (token: string, claimer: ReservationClaimer) => Promise<ReservationRelease>;
  /** Relay ports every relay thread has bound; without it, a thread learns of the others' from failed binds. */
  readonly relayPorts?: RelayPortMap;
  /** The certificate and key in force (the last a reload applied); without them, cert and pkey are read. */
  readonly tls?: TlsMaterial;
  /** Where this host's addresses are read, and how often again; os.networkInterfaces every 10 s without it. */
  readonly hostInterfaces?: HostInterfaces;
}

export interface HostInterfaces {
  readonly read: () => ReturnType<typeof networkInterfaces>;
  readonly refreshMs: number;
}

interface Closable {
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 1000;
// An address added after the start (SLAAC, a floating VIP) is this host's too: its services are
// refused as peers within this long.
const HOST_ADDRESS_REFRESH_MS = 10_000;
// Long enough for the main thread to see a relay thread exit and tell the others (a few ms, more
// when busy); shorter than clients' first retransmission (RFC 8489 §6.2.1 suggests 500 ms; WebRTC
// stacks use 200-250 ms), so a client waits no longer than a lost datagram would have cost it.
const UNKNOWN_CLIENT_HOLD_MS = 100;

function holdFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export async function startRelayNode(config: Config, options: RelayNodeOptions): Promise<RelayNode> {
  const log = options.logger;
  const coarseClock = options.clock === undefined ? createCoarseClock() : undefined;
  const clock: Clock = options.clock ?? coarseClock!;
  const reusePort = options.reusePort === true;
  const tlsMaterial = config.cert && config.pkey && !config.noTls ? (options.tls ?? (await readTlsMaterial(config.cert, config.pkey, "cert", "pkey"))) : undefined;
  const addresses = resolveListeningAddresses(config.listeningIps);
  if (addresses.length === 0) throw new StartupError("no address to listen on: no interface has one (of the family of a wildcard listening-ip); set listening-ip");
  const hostInterfaces = options.hostInterfaces ?? { read: networkInterfaces, refreshMs: HOST_ADDRESS_REFRESH_MS };
  // Read before any socket opens: a start that cannot know this host's addresses fails with nothing to close.
  const initialHostAddresses = hostAddressesOf(config, addresses, hostInterfaces.read);
  const portFor = (transport: ListenerInfo["transport"], address: string, configured: number): number =>
    options.fixedPorts?.find((l) => l.transport === transport && l.address === address)?.port ?? configured;

  const relays = new UdpRelayAllocator({
    relayIps: config.relayIps,
    listeningAddresses: addresses,
    externalIps: config.externalIps,
    minPort: config.minPort,
    maxPort: config.maxPort,
    clock,
    log,
    ...(options.releaseReservationElsewhere ? { releaseElsewhere: options.releaseReservationElsewhere } : {}),
    ...(options.relayPorts ? { sharedPorts: options.relayPorts } : {}),
  });
  const threads = options.threadCount ?? 1;
  const hold = threads > 1 ? { ms: UNKNOWN_CLIENT_HOLD_MS, wait: holdFor } : undefined;
  const runtime = createTurnRuntime(config, relays, clock, log, options.quota, hold);
  const { onPacket, maxChannelNumber } = runtime;
  const onClose = runtime.service.onLinkClosed;

  const open: Closable[] = [];
  const udpListeners: UdpListener[] = [];
  const tlsListeners: StreamListener[] = [];
  const listeners: ListenerInfo[] = [];
  const idleTimeoutMs = config.streamIdleTimeoutSeconds * 1000;
  // One count for all of this thread's TCP and TLS listeners, and, with several threads, theirs too.
  const caps = createConnectionCaps({ maxConnections: config.maxTcpConnections, maxConnectionsPerIp: config.maxTcpConnectionsPerIp }, options.connectionCount);
  const allocateTimeoutMs = config.maxAllocateTimeoutSeconds * 1000;
  try {
    for (const { address, family } of addresses) {
      if (!config.noUdp) {
        const udp = await UdpListener.open({ address, port: portFor("udp", address, config.listeningPort), family, reusePort, onPacket, clock, log });
        udpListeners.push(udp);
        open.push({
          close: () => {
            runtime.service.onLinkClosed(udp.link);
            return udp.close();
          },
        });
        listeners.push({ transport: "udp", address, port: udp.link.localPort, family });
      }
      if (!config.noTcp) {
        const port = portFor("tcp", address, config.listeningPort);
        const tcp = await StreamListener.open({ transport: "tcp", address, port, family, reusePort, idleTimeoutMs, maxChannelNumber, onPacket, onClose, caps, allocateTimeoutMs, clock, log });
        open.push(tcp);
        listeners.push({ transport: "tcp", address, port: tcp.port, family });
      }
      if (tlsMaterial) {
        const port = portFor("tls", address, config.tlsListeningPort);
        const tls = await StreamListener.open({
          transport: "tls",
          address,
          port,
          family,
          reusePort,
          idleTimeoutMs,
          maxChannelNumber,
          tls: tlsMaterial,
          onPacket,
          onClose,
          caps,
          allocateTimeoutMs,
          clock,
          log,
        });
        open.push(tls);
        tlsListeners.push(tls);
        listeners.push({ transport: "tls", address, port: tls.port, family });
      }
    }
    if (listeners.length === 0) throw new StartupError("every listener is disabled (no-udp, no-tcp and no TLS)");
  } catch (error) {
    await Promise.all(open.map((listener) => listener.close()));
    relays.close();
    if (error instanceof ListenError) throw new StartupError(error.message, { cause: error });
    throw error;
  }

  const ownListeners = listeners.map(({ address, port }) => ({ address, port }));
  let hostAddressesKey = "";
  let hostAddressesUnreadable = false;
  const applyHostAddresses = (found: string[]): void => {
    const key = [...found].sort().join(" ");
    if (key === hostAddressesKey) return;
    if (hostAddressesKey !== "") log.info({ addresses: found.length }, "this host's addresses changed; the peer policy follows");
    hostAddressesKey = key;
    runtime.setHostAddresses(found);
  };
  const refreshHostAddresses = (): void => {
    let found: string[];
    try {
      found = hostAddressesOf(config, addresses, hostInterfaces.read);
    } catch (error) {
      // Once until a read succeeds again, not every refresh in every thread.
      if (!hostAddressesUnreadable) log.warn({ err: error }, "cannot read this host's interface addresses; the peer policy keeps the last ones read");
      hostAddressesUnreadable = true;
      return;
    }
    hostAddressesUnreadable = false;
    applyHostAddresses(found);
  };
  applyHostAddresses(initialHostAddresses);
  const hostAddressRefresher = setInterval(refreshHostAddresses, hostInterfaces.refreshMs);
  // Our own sockets are never peers (RFC 8656 §21.3); the API's are added once it listens.
  const setOwnEndpoints = (endpoints: readonly Endpoint[]) => runtime.setOwnEndpoints(withExternalIps(endpoints, config.externalIps));
  setOwnEndpoints(ownListeners);
  const sweeper = setInterval(() => runtime.sweep(), SWEEP_INTERVAL_MS);
  // In a worker the heap is the thread's own; in process (relay-threads 1, inProcess) it is the
  // application's too, whose growth is not the relay's to collect.
  const sample = (): HeapSample => {
    const counts = heapSampleOf(runtime.stats());
    return isMainThread ? counts : { ...counts, heapBytes: heapHeldBytes() };
  };
  const heapBound = isMainThread ? { maxUsedBytes: TRIM_MAX_MAIN_HEAP_BYTES } : undefined;
  const heapTrim = config.heapTrim ? startHeapTrim({ log, watch: { sample }, heapBound }) : NO_HEAP_TRIM;

  let closing: Promise<void> | undefined;
  return {
    listeners,
    stats() {
      const heap = getHeapStatistics();
      return { ...runtime.stats(), relayHeapUsedBytes: heap.used_heap_size, relayHeapSizeBytes: heap.total_heap_size, heapTrims: heapTrim.trims };
    },
    reload(next, tls) {
      runtime.reload(next);
      if (tls) for (const listener of tlsListeners) listener.setTlsMaterial(tls);
    },
    revoke: (username) => runtime.revoke(username),
    drain: () => runtime.drain(),
    setExtraOwnEndpoints: (endpoints) => setOwnEndpoints([...ownListeners, ...endpoints]),
    releaseReservation: (token, claimer) => relays.releaseReservation(token, claimer),
    setRegrouping(on) {
      const unanswered = runtime.service.setRegrouping(on);
      if (!on && unanswered > 0) log.info({ unanswered }, "relay threads regrouped; requests from UDP clients this thread did not know went unanswered meanwhile");
    },
    async setUdpInGroups(join) {
      for (const udp of udpListeners) {
        if (join) await udp.joinGroup();
        else udp.leaveGroup();
      }
    },
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        clearInterval(hostAddressRefresher);
        coarseClock?.stop();
        heapTrim.stop();
        await Promise.all(open.map((listener) => listener.close()));
        relays.close();
        forgetShapes([REMOVED_ALLOCATION, RECEIVED_DATAGRAM, DATAGRAM_SENDER]);
      })();
      return closing;
    },
  };
}

/** This host's addresses, as the peer policy knows them: every interface's, and those the configuration names. */
export function hostAddressesOf(config: Config, listening: readonly { readonly address: string }[], interfaces: () => ReturnType<typeof networkInterfaces> = networkInterfaces): string[] {
  const found = new Set<string>();
  for (const entries of Object.values(interfaces())) for (const entry of entries ?? []) found.add(entry.address.replace(/%.*$/, ""));
  for (const { address } of listening) found.add(address);
  for (const address of config.relayIps) found.add(address);
  for (const external of config.externalIps) {
    found.add(external.public);
    if (external.private !== undefined) found.add(external.private);
  }
  return [...found];
}

/**
 * The endpoints and each external-ip's public address at their ports: behind a hairpinning NAT a packet
 * sent there comes back to us. Its other ports are this host's too (see hostAddressesOf): only the
 * relay ports are peers there.
 */
function withExternalIps(endpoints: readonly Endpoint[], externalIps: Config["externalIps"]): Endpoint[] {
  const ports = new Set(endpoints.map((endpoint) => endpoint.port));
  return [...endpoints, ...externalIps.flatMap(({ public: address }) => [...ports].map((port) => ({ address, port })))];
}

export async function readTlsMaterial(certPath: string, keyPath: string, certKey: string, keyKey: string): Promise<TlsMaterial> {
  const read = async (what: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
      throw new StartupError(`cannot read ${what} file ${path}: ${reason}`);
    }
  };
  const [cert, key] = await Promise.all([read(certKey, certPath), read(keyKey, keyPath)]);
  try {
    checkTlsPair(cert, key);
  } catch (error) {
    throw new StartupError(`cannot use ${certKey} ${certPath} with ${keyKey} ${keyPath}: ${(error as Error).message}`);
  }
  return { cert, key };
}
