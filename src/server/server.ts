import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { createSecureContext } from "node:tls";
import type { Logger as PinoLogger } from "pino";
import type { ApiDeps, ServerStats } from "../api/api-deps.js";
import { startApiServer, type RunningApi } from "../api/api-server.js";
import { iceUris } from "../api/ice-servers.js";
import type { Config } from "../config/config.js";
import { mintRestCredential } from "../credentials/rest-credentials.js";
import type { IpFamily } from "../stun/address.js";
import { ListenError } from "../transport/listen-error.js";
import { UdpRelayAllocator } from "../transport/relay-allocator.js";
import { StreamListener } from "../transport/stream-listener.js";
import { UdpListener } from "../transport/udp-listener.js";
import type { Clock } from "../turn/ports.js";
import { resolveListeningAddresses } from "./listening-addresses.js";
import { createTurnRuntime } from "./turn-runtime.js";

export interface ListenerInfo {
  readonly transport: "udp" | "tcp" | "tls";
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
}

export interface RunningServer {
  readonly listeners: readonly ListenerInfo[];
  /** The credential endpoint, unless no-api. */
  readonly api?: { readonly address: string; readonly port: number; readonly tls: boolean };
  /** Live figures for health and metrics; plain numbers, read on demand. */
  stats(): ServerStats;
  /** Credentials, peer lists and quotas from a new config (SIGHUP); allocations stay, listeners stay. */
  reload(config: Config): Promise<void>;
  /** Refuses the username from now on and ends its allocations; returns how many ended. */
  revoke(username: string): number;
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
  readonly logger: PinoLogger;
  /** Tests pass a manual clock; production uses the wall clock. */
  readonly clock?: Clock;
}

interface Closable {
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 1000;

export async function startServer(config: Config, options: StartOptions): Promise<RunningServer> {
  const log = options.logger;
  const clock: Clock = options.clock ?? { now: () => Date.now() };
  const tlsMaterial = config.cert && config.pkey && !config.noTls ? await readTlsMaterial(config.cert, config.pkey, "cert", "pkey") : undefined;
  const apiTls = config.apiCert && config.apiPkey ? await readTlsMaterial(config.apiCert, config.apiPkey, "api-cert", "api-pkey") : undefined;
  const addresses = resolveListeningAddresses(config.listeningIps);
  if (addresses.length === 0) throw new StartupError("no address to listen on: set listening-ip");
  if (config.users.length === 0 && !(config.useAuthSecret && config.staticAuthSecrets.length > 0)) {
    log.warn({}, "no user and no static-auth-secret: TURN allocations will be refused; only STUN Binding is served");
  }

  const relays = new UdpRelayAllocator({
    relayIps: config.relayIps,
    listeningAddresses: addresses,
    externalIps: config.externalIps,
    minPort: config.minPort,
    maxPort: config.maxPort,
    clock,
    log,
  });
  const runtime = createTurnRuntime(config, relays, clock, log);
  let current = config;
  const { onPacket, maxChannelNumber } = runtime;
  const onClose = runtime.service.onLinkClosed;

  const open: Closable[] = [];
  const listeners: ListenerInfo[] = [];
  let api: RunningApi | undefined;
  const idleTimeoutMs = config.streamIdleTimeoutSeconds * 1000;
  try {
    for (const { address, family } of addresses) {
      if (!config.noUdp) {
        const udp = await UdpListener.open({ address, port: config.listeningPort, family, onPacket, log });
        open.push({
          close: () => {
            runtime.service.onLinkClosed(udp.link);
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
    if (listeners.length === 0) throw new StartupError("every listener is disabled (no-udp, no-tcp and no TLS)");
    if (!config.noApi) api = await startApiServer(apiDeps());
  } catch (error) {
    await Promise.all(open.map((listener) => listener.close()));
    relays.close();
    if (error instanceof ListenError) throw new StartupError(error.message, { cause: error });
    if (error instanceof Error && error.name === "ApiStartError") throw new StartupError(error.message, { cause: error });
    throw error;
  }

  // Our own sockets, the API's included, are never peers (RFC 8656 §21.3).
  runtime.setOwnEndpoints([...listeners.map(({ address, port }) => ({ address, port })), ...(api ? [{ address: api.address, port: api.port }] : [])]);
  const sweeper = setInterval(() => runtime.sweep(), SWEEP_INTERVAL_MS);

  function publicHost(): string {
    const active = current;
    if (active.restUriHost) return active.restUriHost;
    if (active.externalIps[0]) return active.externalIps[0].public;
    return listeners.find((l) => l.address !== "0.0.0.0" && l.address !== "::")?.address ?? hostname();
  }

  function apiDeps(): ApiDeps {
    return {
      options: {
        listeningIp: config.apiListeningIp,
        listeningPort: config.apiListeningPort,
        ...(apiTls ? { tls: apiTls } : {}),
        apiKeys: config.apiKeys,
        allowAnonymous: config.apiAllowAnonymous,
        corsOrigins: config.apiCorsOrigins,
        defaultTtlSeconds: config.restDefaultTtlSeconds,
        maxTtlSeconds: config.restMaxTtlSeconds,
        rateLimitPerMinute: config.apiRateLimitPerMinute,
      },
      mint(user, ttlSeconds) {
        const secret = current.useAuthSecret ? current.staticAuthSecrets[0] : undefined;
        if (secret === undefined) return undefined;
        const minted = mintRestCredential({ secret, ...(user !== undefined ? { user } : {}), ttlSeconds, nowMs: clock.now(), separator: current.restApiSeparator });
        return { username: minted.username, password: minted.password, ttlSeconds: minted.ttlSeconds };
      },
      iceUris() {
        const port = (transport: ListenerInfo["transport"]) => listeners.find((l) => l.transport === transport)?.port;
        const udp = port("udp");
        const tcp = port("tcp");
        const tls = port("tls");
        return iceUris(publicHost(), { ...(udp !== undefined ? { udp } : {}), ...(tcp !== undefined ? { tcp } : {}), ...(tls !== undefined ? { tls } : {}) });
      },
      revoke: (username) => server.revoke(username),
      stats: () => server.stats(),
      logger: log,
    };
  }

  let closing: Promise<void> | undefined;
  const server: RunningServer = {
    listeners,
    ...(api ? { api: { address: api.address, port: api.port, tls: apiTls !== undefined } } : {}),
    stats: () => ({ ...runtime.stats(), listenersUp: closing === undefined, draining: false }),
    async reload(next) {
      runtime.reload(next);
      current = next;
    },
    revoke(username) {
      const ended = runtime.revoke(username);
      log.info({ allocationsEnded: ended }, "credential revoked");
      return ended;
    },
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        await api?.close();
        await Promise.all(open.map((listener) => listener.close()));
        relays.close();
      })();
      return closing;
    },
  };
  return server;
}

async function readTlsMaterial(certPath: string, keyPath: string, certKey: string, keyKey: string): Promise<{ cert: Buffer; key: Buffer }> {
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
    createSecureContext({ cert, key, minVersion: "TLSv1.2" });
  } catch (error) {
    throw new StartupError(`cannot use ${certKey} ${certPath} with ${keyKey} ${keyPath}: ${(error as Error).message}`);
  }
  return { cert, key };
}
