import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { availableParallelism, hostname } from "node:os";
import type { Logger as PinoLogger } from "pino";
import type { ApiDeps, RevokeOutcome, ServerStats } from "../api/api-deps.js";
import type { RunningApi } from "../api/api-server.js";
import { advertisedHost, iceUris } from "../api/ice-servers.js";
import type { Config } from "../config/config.js";
import { reloadedConfig } from "../config/kept-until-restart.js";
import { describeUnservedRequests, NO_TURN_CREDENTIALS } from "../config/service-warnings.js";
import { mintWithFirstSecret } from "../credentials/credential-store.js";
import { parseRestUsername } from "../credentials/rest-credentials.js";
import type { Clock } from "../turn/ports.js";
import { checkRelayAddress } from "../transport/relay-allocator.js";
import type { TlsMaterial } from "../transport/stream-listener.js";
import { exposeGc } from "./heap-trim.js";
import { readTlsMaterial, startRelayNode, type HostInterfaces, type ListenerInfo } from "./relay-node.js";
import { knownRevocations } from "./known-revocations.js";
import type { SharedRevocations } from "./shared-revocations.js";
import { StartupError } from "./startup-error.js";
import { startWorkerPool, type RelayBackend } from "./worker-pool.js";

export type { ListenerInfo } from "./relay-node.js";
export { StartupError } from "./startup-error.js";

export interface RunningServer {
  readonly listeners: readonly ListenerInfo[];
  /** The credential endpoint, unless no-api. */
  readonly api?: { readonly address: string; readonly port: number; readonly tls: boolean };
  /** How many relay threads serve the listeners. */
  readonly relayThreads: number;
  /** Live figures for health and metrics; plain numbers, summed over relay threads. */
  stats(): ServerStats;
  /** Credentials, peer lists and quotas from a new config (SIGHUP); allocations and listeners stay. */
  reload(config: Config): Promise<void>;
  /** Refuses the username from now on and ends its allocations on every thread, and with redis-url tells the other nodes. */
  revoke(username: string): Promise<RevokeOutcome>;
  /**
   * Stops new allocations (403 with a reason; /readyz answers 503) while existing ones run on;
   * resolves when none is left or drain-grace has passed. Calling it again returns the same promise.
   */
  drain(): Promise<void>;
  /** Settles when a drain, however started (SIGUSR1, turnpike drain, the API), has finished. */
  readonly drained: Promise<void>;
  /** Settles, with why, once the server can no longer serve (every relay thread kept failing). */
  readonly failed: Promise<string>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger: PinoLogger;
  /**
   * Runs the relay on this thread instead of in one worker (relay-threads must be 1). For tests that
   * drive it with a manual clock or read its debug lines; a server for users keeps its relay in
   * workers, so that a crash is restarted without the API, and a relay thread's young generation is
   * capped (on this thread V8 grows it with load: 6.9 KiB of RSS per idle allocation, against 2.3-2.4
   * in a worker).
   */
  readonly inProcess?: boolean;
  /** A manual clock; only with inProcess (workers keep their own time). */
  readonly clock?: Clock;
  /** Where this host's addresses are read from, and how often; only with inProcess. */
  readonly hostInterfaces?: HostInterfaces;
}

const DRAIN_POLL_MS = 300;

export async function startServer(config: Config, options: StartOptions): Promise<RunningServer> {
  const log = options.logger;
  const relayThreads = relayThreadCount(config.relayThreads);
  if (options.inProcess === true && relayThreads !== 1) throw new Error(`inProcess runs one relay thread: set relay-threads to 1, not ${config.relayThreads ?? "unset (one per CPU)"}`);
  if (options.clock && options.inProcess !== true) throw new Error("a manual clock needs inProcess: relay threads keep their own time");
  if (options.hostInterfaces && options.inProcess !== true) throw new Error("hostInterfaces needs inProcess: relay threads read their own");
  const clock: Clock = options.clock ?? { now: () => Date.now() };
  const apiTls = !config.noApi && config.apiCert && config.apiPkey ? await readTlsMaterial(config.apiCert, config.apiPkey, "api-cert", "api-pkey") : undefined;
  if (describeUnservedRequests(config).includes(NO_TURN_CREDENTIALS)) log.warn({}, NO_TURN_CREDENTIALS);

  // At start only: a relay thread restarted while an address is away (a moving VIP) comes up and answers 508 meanwhile.
  for (const relayIp of config.relayIps) {
    await checkRelayAddress(relayIp).catch((error: NodeJS.ErrnoException) => {
      const hint = error.code === "EADDRNOTAVAIL" ? " (not an address of this machine)" : "";
      throw new StartupError(`cannot relay on relay-ip ${relayIp}: ${error.code ?? error.message}${hint}`);
    });
  }
  // Read once here: every relay thread serves it, a restarted one too, until a reload brings another.
  const tls = config.cert && config.pkey && !config.noTls ? await readTlsMaterial(config.cert, config.pkey, "cert", "pkey") : undefined;
  // Before any relay thread starts, so that each can trim its heap (heap-trim.ts). With heap-trim=false
  // the process's V8 flags stay as the host application set them.
  if (config.heapTrim) exposeGc();
  const backend =
    options.inProcess === true ? await inProcessBackend(config, log, options.clock, tls, options.hostInterfaces) : await startWorkerPool(config, relayThreads, log, tls ? { tls } : {});
  const { listeners } = backend;
  const known = knownRevocations(() => clock.now());
  let sharing: SharedRevocations | undefined;
  try {
    sharing = config.redisUrl === undefined ? undefined : await shareRevocations(config.redisUrl);
  } catch (error) {
    await backend.close();
    throw new StartupError(`cannot use redis-url: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  let current = config;
  let api: RunningApi | undefined;
  let closing: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  let drainEnded = false;
  let settleDrained: () => void = () => {};
  const drained = new Promise<void>((resolve) => (settleDrained = resolve));

  const server: RunningServer = {
    listeners,
    get api() {
      return api ? { address: api.address, port: api.port, tls: apiTls !== undefined } : undefined;
    },
    relayThreads,
    stats: () => ({ ...backend.stats(), listenersUp: closing === undefined, draining: draining !== undefined, ...(sharing ? { sharedRevocations: sharing.state } : {}) }),
    drained,
    failed: backend.lost ?? new Promise<string>(() => {}),
    drain() {
      draining ??= (async () => {
        backend.drain();
        const graceEnds = Date.now() + current.drainGraceSeconds * 1000;
        log.info({ allocations: backend.stats().allocations, graceSeconds: current.drainGraceSeconds }, "draining: no new allocations");
        // The threads report four times a second; wait until none holds an allocation, or the grace ends.
        while (Date.now() < graceEnds && closing === undefined) {
          await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
          if (backend.stats().allocations === 0) break;
        }
        const left = backend.stats().allocations;
        // A stop during the drain has said so itself (close).
        if (closing === undefined && left === 0) log.info({ allocations: 0 }, "drained");
        else if (closing === undefined) log.warn({ allocations: left, graceSeconds: current.drainGraceSeconds }, "drain-grace is over; the allocations left end with the process");
        drainEnded = true;
        settleDrained();
      })();
      return draining;
    },
    async reload(next) {
      const reloaded = reloadedConfig(config, next, current);
      // Certificates are read afresh on every reload (a renewal keeps its paths); one that cannot be read refuses the reload.
      // TLS turned on or off waits for a restart, and the certificate in use stays meanwhile.
      const { cert, pkey, apiCert, apiPkey } = reloaded.config;
      const tlsRuns = listeners.some((listener) => listener.transport === "tls") && !reloaded.tlsKept;
      const tls = tlsRuns && cert && pkey ? await readTlsMaterial(cert, pkey, "cert", "pkey") : undefined;
      // api-cert and api-pkey are kept as started; a config that no longer names them (HTTPS off, at the restart) reads nothing.
      const renewedApiTls = api && apiTls && apiCert && apiPkey && next.apiCert && next.apiPkey ? await readTlsMaterial(apiCert, apiPkey, "api-cert", "api-pkey") : undefined;
      await backend.reload(reloaded.config, tls);
      if (renewedApiTls) api?.setTlsMaterial(renewedApiTls);
      if (tls) log.info(describeCertificate(tls.cert, cert!), "TLS certificate loaded");
      if (renewedApiTls) log.info(describeCertificate(renewedApiTls.cert, apiCert!), "api TLS certificate loaded");
      api?.setApiKeys(reloaded.config.apiKeys);
      current = reloaded.config;
      if (reloaded.kept.length > 0) log.warn({ options: reloaded.kept }, "these options changed and are kept as they were until a restart");
    },
    async revoke(username) {
      const allocationsEnded = await backend.revoke(username);
      log.info({ allocationsEnded }, "credential revoked");
      const untilMs = sharedUntil(username);
      if (sharing === undefined || untilMs === undefined) return { allocationsEnded };
      known.note(username, untilMs);
      try {
        await sharing.share(username, untilMs);
        return { allocationsEnded, shared: true };
      } catch (error) {
        return { allocationsEnded, shared: { error: error instanceof Error ? error.message : String(error) } };
      }
    },
    close() {
      closing ??= (async () => {
        if (draining !== undefined && !drainEnded) log.info({ allocations: backend.stats().allocations }, "drain cut short: the server is stopping");
        await api?.close();
        await sharing?.close();
        await backend.close();
      })();
      return closing;
    },
  };

  if (!config.noApi) {
    try {
      // Loaded only when served: fastify and prom-client hold 5 MiB of heap and take 90 ms to load.
      const { startApiServer } = await import("../api/api-server.js");
      api = await startApiServer(apiDeps());
    } catch (error) {
      await sharing?.close();
      await backend.close();
      throw error instanceof Error && error.name === "ApiStartError" ? new StartupError(error.message, { cause: error }) : error;
    }
    // The API is one of our own endpoints: no peer may reach it (RFC 8656 §21.3).
    backend.setExtraOwnEndpoints([{ address: api.address, port: api.port }]);
    const host = publicHost();
    if (listeners.some((listener) => listener.transport === "tls") && isIP(host) !== 0) {
      log.warn({ host }, "the endpoint's turns: URIs name an IP address, which TLS certificates rarely cover: set rest-uri-host to the certificate's name");
    }
  }
  log.info({ relayThreads }, "relay threads serving");
  return server;

  /** A REST username's expiry, its score in the shared set; undefined for any other name, or one expired already. */
  function sharedUntil(username: string): number | undefined {
    const rest = parseRestUsername(username, current.restApiSeparator);
    const untilMs = rest === undefined ? undefined : rest.expiresAtSeconds * 1000;
    return untilMs !== undefined && untilMs > clock.now() ? untilMs : undefined;
  }

  async function shareRevocations(url: string): Promise<SharedRevocations> {
    // Loaded only with redis-url: the client holds 5 MiB of heap and takes 60 ms to load.
    const { startSharedRevocations } = await import("./shared-revocations.js");
    return startSharedRevocations({
      url,
      log,
      now: () => clock.now(),
      // Told by another node, or read at a (re)connection: this node's threads refuse it too. One
      // already applied here is skipped: every reconnection reads all those in force again.
      apply: (username) => {
        const untilMs = sharedUntil(username);
        if (untilMs === undefined || !known.note(username, untilMs)) return false;
        void backend.revoke(username).then((allocationsEnded) => {
          if (allocationsEnded > 0) log.info({ allocationsEnded }, "credential revoked on another node");
        });
        return true;
      },
    });
  }

  function publicHost(): string {
    return advertisedHost(current, hostname);
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
        // Read on each request: a reload changes them.
        get defaultTtlSeconds() {
          return current.restDefaultTtlSeconds;
        },
        get maxTtlSeconds() {
          return current.restMaxTtlSeconds;
        },
        rateLimitPerMinute: config.apiRateLimitPerMinute,
      },
      mint(user, ttlSeconds) {
        if (!current.useAuthSecret || current.staticAuthSecrets.length === 0) return undefined;
        const minted = mintWithFirstSecret(
          { authSecrets: current.staticAuthSecrets, restSeparator: current.restApiSeparator },
          { ...(user !== undefined ? { user } : {}), ttlSeconds, nowMs: clock.now() },
        );
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
      drain: () => {
        void server.drain();
      },
      stats: () => server.stats(),
      logger: log,
    };
  }
}

/** Without a manual clock, the relay keeps its own (as in a worker). */
async function inProcessBackend(config: Config, log: PinoLogger, clock: Clock | undefined, tls: TlsMaterial | undefined, hostInterfaces: HostInterfaces | undefined): Promise<RelayBackend> {
  const node = await startRelayNode(config, { logger: log, ...(clock ? { clock } : {}), ...(tls ? { tls } : {}), ...(hostInterfaces ? { hostInterfaces } : {}) });
  return {
    listeners: node.listeners,
    stats: () => ({ ...node.stats(), relayThreadsUp: 1, relayThreadRestarts: 0 }),
    reload: async (next, tls) => node.reload(next, tls),
    revoke: async (username) => node.revoke(username),
    drain: () => node.drain(),
    setExtraOwnEndpoints: (endpoints) => node.setExtraOwnEndpoints(endpoints),
    close: () => node.close(),
  };
}

/** What an operator checks after a renewal: which file, whose certificate, until when. */
function describeCertificate(pem: Buffer, path: string): { file: string; subject?: string; validTo?: string } {
  try {
    const certificate = new X509Certificate(pem);
    return { file: path, subject: certificate.subject.replaceAll("\n", ", "), validTo: new Date(certificate.validTo).toISOString() };
  } catch {
    return { file: path };
  }
}

/** `relay-threads`: unset, one per CPU; 0 is coturn's single-threaded mode, here one relay thread beside the main one. */
export function relayThreadCount(configured: number | undefined): number {
  if (configured === undefined) return availableParallelism();
  return Math.max(1, configured);
}
