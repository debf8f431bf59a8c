import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import type { Config } from "../config/config.js";
import { createCredentialStore } from "../credentials/credential-store.js";
import { parseStaticUser } from "../credentials/static-users.js";
import type { IpFamily } from "../stun/address.js";
import { ListenError } from "../transport/listen-error.js";
import { UdpRelayAllocator } from "../transport/relay-allocator.js";
import { StreamListener } from "../transport/stream-listener.js";
import { UdpListener } from "../transport/udp-listener.js";
import { MAX_CHANNEL_NUMBER, RFC5766_MAX_CHANNEL_NUMBER } from "../turn/allocation.js";
import { allocationsOnLink, createAllocationTable, removeAllocation } from "../turn/allocation-table.js";
import { createDispatcher } from "../turn/dispatch.js";
import { createTurnService } from "../turn/handlers/turn-handlers.js";
import { parseIpRange } from "../turn/ip-range.js";
import { createNonceService } from "../turn/nonce.js";
import { createPeerPolicy, type PeerPolicy } from "../turn/peer-policy.js";
import type { Clock, Logger } from "../turn/ports.js";
import { createRelayCounters, type RelayCounters } from "../turn/relay.js";
import { resolveListeningAddresses } from "./listening-addresses.js";

export interface ListenerInfo {
  readonly transport: "udp" | "tcp" | "tls";
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
}

export interface RunningServer {
  readonly listeners: readonly ListenerInfo[];
  /** Live figures for health and metrics; plain numbers, read on demand. */
  stats(): { readonly allocations: number; readonly counters: Readonly<RelayCounters> };
  close(): Promise<void>;
}

/** Why the server could not start, in one line an operator can act on. */
export class StartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
  }
}

export interface StartOptions {
  readonly logger: Logger;
  /** Tests pass a manual clock; production uses the wall clock. */
  readonly clock?: Clock;
}

interface Closable {
  close(): Promise<void>;
}

// RFC 8656 §7.2: the default allocation lifetime.
const DEFAULT_LIFETIME_SECONDS = 600;
const SWEEP_INTERVAL_MS = 1000;

export async function startServer(config: Config, options: StartOptions): Promise<RunningServer> {
  const log = options.logger;
  const clock: Clock = options.clock ?? { now: () => Date.now() };
  const tlsMaterial = config.cert && config.pkey && !config.noTls ? await readTlsMaterial(config.cert, config.pkey) : undefined;
  const addresses = resolveListeningAddresses(config.listeningIps);
  if (addresses.length === 0) throw new StartupError("no address to listen on: set listening-ip");

  // loadConfig has already warned about a secret without use-auth-secret and the reverse.
  const authSecrets = config.useAuthSecret ? config.staticAuthSecrets : [];
  if (config.users.length === 0 && authSecrets.length === 0) {
    log.warn({}, "no user and no static-auth-secret: TURN allocations will be refused; only STUN Binding is served");
  }
  const table = createAllocationTable();
  const maxChannelNumber = config.rfc5766ChannelNumbers ? RFC5766_MAX_CHANNEL_NUMBER : MAX_CHANNEL_NUMBER;
  const counters = createRelayCounters();
  const relays = new UdpRelayAllocator({
    relayIps: config.relayIps,
    listeningAddresses: addresses,
    externalIps: config.externalIps,
    minPort: config.minPort,
    maxPort: config.maxPort,
    clock,
    log,
  });
  // Our own sockets are known only once bound; until then (microseconds) nothing is allowed.
  let peerPolicy: PeerPolicy = { isPeerAllowed: () => false, isPeerAddressAllowed: () => false };
  const service = createTurnService(
    {
      options: {
        realm: config.realm,
        defaultLifetimeSeconds: DEFAULT_LIFETIME_SECONDS,
        maxAllocateLifetimeSeconds: config.maxAllocateLifetimeSeconds,
        userQuota: config.userQuota,
        totalQuota: config.totalQuota,
        maxPermissionsPerAllocation: config.maxPermissionsPerAllocation,
        maxChannelNumber,
      },
      table,
      relays,
      peerPolicy: {
        isPeerAllowed: (address, port) => peerPolicy.isPeerAllowed(address, port),
        isPeerAddressAllowed: (address) => peerPolicy.isPeerAddressAllowed(address),
      },
      nonces: createNonceService({ secret: randomBytes(32), staleNonceSeconds: config.staleNonceSeconds }),
      credentials: createCredentialStore({
        realm: config.realm,
        staticUsers: config.users.map(parseStaticUser),
        authSecrets,
        restSeparator: config.restApiSeparator,
      }),
      counters,
      clock,
      log,
    },
    { mappedAddress: config.mappedAddress },
  );
  const onPacket = createDispatcher(service.dispatchTable, { fingerprint: config.fingerprint, maxChannelNumber, log });
  const onClose = service.onLinkClosed;

  const open: Closable[] = [];
  const listeners: ListenerInfo[] = [];
  const idleTimeoutMs = config.streamIdleTimeoutSeconds * 1000;
  try {
    for (const { address, family } of addresses) {
      if (!config.noUdp) {
        const udp = await UdpListener.open({ address, port: config.listeningPort, family, onPacket, log });
        open.push({
          close: () => {
            for (const allocation of allocationsOnLink(table, udp.link)) removeAllocation(table, allocation);
            return udp.close();
          },
        });
        listeners.push({ transport: "udp", address, port: udp.link.localPort, family });
      }
      if (!config.noTcp) {
        const tcp = await StreamListener.open({ transport: "tcp", address, port: config.listeningPort, family, idleTimeoutMs, maxChannelNumber, onPacket, onClose, log });
        open.push(tcp);
        listeners.push({ transport: "tcp", address, port: tcp.port, family });
      }
      if (tlsMaterial) {
        const tls = await StreamListener.open({
          transport: "tls",
          address,
          port: config.tlsListeningPort,
          family,
          idleTimeoutMs,
          maxChannelNumber,
          tls: tlsMaterial,
          onPacket,
          onClose,
          log,
        });
        open.push(tls);
        listeners.push({ transport: "tls", address, port: tls.port, family });
      }
    }
  } catch (error) {
    await Promise.all(open.map((listener) => listener.close()));
    if (error instanceof ListenError) throw new StartupError(error.message, { cause: error });
    throw error;
  }
  if (listeners.length === 0) throw new StartupError("every listener is disabled (no-udp, no-tcp and no TLS)");

  peerPolicy = createPeerPolicy({
    allowLoopbackPeers: config.allowLoopbackPeers,
    allowedPeerRanges: config.allowedPeerIps.map(parseIpRange),
    deniedPeerRanges: config.deniedPeerIps.map(parseIpRange),
    ownEndpoints: listeners.map(({ address, port }) => ({ address, port })),
  });
  const sweeper = setInterval(() => service.sweep(), SWEEP_INTERVAL_MS);

  let closing: Promise<void> | undefined;
  return {
    listeners,
    stats: () => ({ allocations: table.size, counters }),
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        await Promise.all(open.map((listener) => listener.close()));
        relays.close();
      })();
      return closing;
    },
  };
}

async function readTlsMaterial(certPath: string, keyPath: string): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (what: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
      throw new StartupError(`cannot read ${what} file ${path}: ${reason}`);
    }
  };
  const [cert, key] = await Promise.all([read("cert", certPath), read("pkey", keyPath)]);
  try {
    createSecureContext({ cert, key, minVersion: "TLSv1.2" });
  } catch (error) {
    throw new StartupError(`cannot use cert ${certPath} with pkey ${keyPath}: ${(error as Error).message}`);
  }
  return { cert, key };
}
