// Real endpoints on 127.0.0.1 with ephemeral ports, fake server core, real REST credentials,
// and a pino logger writing into memory so tests can read every line logged.
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { request as httpsRequest } from "node:https";
import { Writable } from "node:stream";
import { pino } from "pino";
import type { ApiDeps, ApiOptions, RevokeOutcome, ServerStats } from "../../src/api/api-deps.js";
import { startApiServer, type ApiServerInternals, type RunningApi } from "../../src/api/api-server.js";
import { iceUris } from "../../src/api/ice-servers.js";
import { mintRestCredential } from "../../src/credentials/rest-credentials.js";
import { ManualClock } from "../helpers/manual-clock.js";

export const SECRET = "north-secret";
export const KEY = "k3y-alpha-0123456789abcdef";
export const OTHER_KEY = "k3y-bravo-fedcba9876543210";
export const ICE_URIS = iceUris("203.0.113.5", { udp: 3478, tcp: 3478, tls: 5349 });

export function baseOptions(overrides: Partial<ApiOptions> = {}): ApiOptions {
  return {
    listeningIp: "127.0.0.1",
    listeningPort: 0,
    apiKeys: [KEY],
    allowAnonymous: false,
    corsOrigins: [],
    defaultTtlSeconds: 86_400,
    maxTtlSeconds: 172_800,
    rateLimitPerMinute: 1_000,
    ...overrides,
  };
}

export function baseStats(overrides: Partial<ServerStats> = {}): ServerStats {
  const traffic = { clientToPeerPackets: 0, clientToPeerBytes: 0, peerToClientPackets: 0, peerToClientBytes: 0 };
  return {
    clientMessages: 0,
    allocations: 0,
    permissions: 0,
    channels: 0,
    allocationsCreated: 0,
    allocationsExpired: 0,
    allocationsDeleted: 0,
    relay: { udp: traffic, tcp: traffic, tls: traffic },
    droppedPackets: 0,
    bandwidthDroppedPackets: 0,
    maxBps: 0,
    bpsCapacity: 0,
    bindingRequests: 0,
    unauthenticatedAnswersDropped: 0,
    errorResponses: {},
    totalQuota: 0,
    relayPortsFree: 10_000,
    relayHeapUsedBytes: 0,
    relayHeapSizeBytes: 0,
    heapTrims: 0,
    relayThreadsUp: 1,
    relayThreadRestarts: 0,
    listenersUp: true,
    draining: false,
    ...overrides,
  };
}

export interface TestApi {
  readonly api: RunningApi;
  readonly url: string;
  readonly clock: ManualClock;
  /** Every line logged, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Every line logged, as written. */
  logText(): string;
  readonly revoked: string[];
  /** How many times drain() was called. */
  drains: number;
  stats: ServerStats;
  /** mint() answers undefined, as without a secret. */
  noSecret: boolean;
}

export interface TestApiOptions {
  readonly options?: Partial<ApiOptions>;
  readonly internals?: Omit<ApiServerInternals, "now">;
  readonly mint?: ApiDeps["mint"];
  readonly allocationsEndedPerRevoke?: number;
  /** What a revocation says of the other nodes (redis-url); absent: it has none. */
  readonly revokeShared?: RevokeOutcome["shared"];
  /** The stats the endpoint first reads (it registers the Redis metric only when they have sharedRevocations). */
  readonly stats?: ServerStats;
}

const running: RunningApi[] = [];

/** Starts an endpoint that closeTestApis() (run it in afterEach) closes. */
export async function startTestApi(settings: TestApiOptions = {}): Promise<TestApi> {
  const { deps, test } = createTestDeps(settings);
  const api = await startApiServer(deps, { ...settings.internals, now: () => test.clock.now() });
  running.push(api);
  const scheme = deps.options.tls === undefined ? "http" : "https";
  return Object.assign(test, { api, url: `${scheme}://127.0.0.1:${api.port}` });
}

export async function closeTestApis(): Promise<void> {
  await Promise.all(running.splice(0).map((api) => api.close()));
}

export function createTestDeps(settings: TestApiOptions = {}): { deps: ApiDeps; test: Omit<TestApi, "api" | "url"> } {
  const clock = new ManualClock();
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString("utf8"));
      callback();
    },
  });
  const test: Omit<TestApi, "api" | "url"> = {
    clock,
    get logs() {
      return lines.join("").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    logText: () => lines.join(""),
    revoked: [],
    drains: 0,
    stats: settings.stats ?? baseStats(),
    noSecret: false,
  };
  const deps: ApiDeps = {
    options: baseOptions(settings.options),
    mint:
      settings.mint ??
      ((user, ttlSeconds) =>
        test.noSecret
          ? undefined
          : mintRestCredential({ secret: SECRET, ...(user !== undefined ? { user } : {}), ttlSeconds, nowMs: clock.now() })),
    iceUris: () => ICE_URIS,
    revoke: (username) => {
      test.revoked.push(username);
      const allocationsEnded = settings.allocationsEndedPerRevoke ?? 0;
      return settings.revokeShared === undefined ? { allocationsEnded } : { allocationsEnded, shared: settings.revokeShared };
    },
    drain: () => {
      test.drains++;
    },
    stats: () => test.stats,
    logger: pino({ level: "trace" }, stream),
  };
  return { deps, test };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export interface RawRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** The client's source address: any 127.0.0.0/8 address reaches a server on 127.0.0.1. */
  readonly localAddress?: string;
  /** Trusted CA for https: URLs. */
  readonly ca?: Buffer;
}

/** node:http(s) for what fetch cannot do: choose the source address, trust a self-signed CA. */
export function rawRequest(url: string, init: RawRequest = {}): Promise<RawResponse> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      {
        method: init.method ?? "GET",
        headers: init.headers,
        agent: false,
        ...(init.localAddress !== undefined ? { localAddress: init.localAddress } : {}),
        ...(init.ca !== undefined ? { ca: init.ca } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(init.body);
  });
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** A JSON POST with `key` as Bearer key (null: none). */
export function jsonPost(body: unknown, key: string | null = KEY): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...(key !== null ? bearer(key) : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/** Milliseconds from `since` until `socket` closes; Infinity if it is still open after `limitMs`. */
export function closedAfter(socket: Socket, since: number, limitMs = 8_000): Promise<number> {
  return new Promise((resolve) => {
    if (socket.closed) return resolve(Date.now() - since); // closed already: by now at the latest
    socket.once("close", () => resolve(Date.now() - since));
    setTimeout(() => resolve(Number.POSITIVE_INFINITY), limitMs).unref();
  });
}
