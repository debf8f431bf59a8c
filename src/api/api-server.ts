// The HTTP(S) endpoint: REST credentials, revocation, health and metrics, on fastify.
import { constants } from "node:crypto";
import { NO_API_KEYS } from "../config/service-warnings.js";
import { describeListenFailure } from "../transport/listen-error.js";
import type { AddressInfo } from "node:net";
import { Server as TlsServer } from "node:tls";
import { fastify, LogController } from "fastify";
import { createAccessGuard } from "./access-guard.js";
import type { ApiApp, ApiContext } from "./api-app.js";
import type { ApiDeps, ApiOptions } from "./api-deps.js";
import { createApiKeyVerifier } from "./api-key-auth.js";
import { createApiLogger } from "./api-logging.js";
import { ApiStartError } from "./api-start-error.js";
import { createClientErrorHandler } from "./client-error.js";
import { BODY_LIMIT_BYTES, configureApp } from "./configure-app.js";
import { capConnectionsPerAddress } from "./connections-per-address.js";
import { registerCors } from "./cors.js";
import { registerCredentialRoutes } from "./credential-routes.js";
import { registerHealthRoutes } from "./health-routes.js";
import { sendError } from "./http-errors.js";
import { formatHostPort, isLoopbackAddress } from "./listening-address.js";
import { createMetricsRegistry } from "./metrics-registry.js";
import { createResponseCounts } from "./response-counts.js";
import { parseQueryString } from "./query-string.js";
import { createRateLimiter, DEFAULT_MAX_TRACKED } from "./rate-limiter.js";
import { registerDrainRoute } from "./drain-route.js";
import { registerRevokeRoute } from "./revoke-route.js";

// A client may not make us run handshake after handshake on one connection.
const NO_RENEGOTIATION = constants.SSL_OP_NO_RENEGOTIATION;

export { ApiStartError } from "./api-start-error.js";

export interface RunningApi {
  readonly address: string;
  readonly port: number;
  /** A reload's api-key list: from now on only these keys are accepted. */
  setApiKeys(keys: readonly string[]): void;
  /** HTTPS only: new connections get this certificate and key (a renewed certificate). */
  setTlsMaterial(material: { readonly cert: Buffer; readonly key: Buffer }): void;
  close(): Promise<void>;
}

/** Not settings: seams for tests. */
export interface ApiServerInternals {
  /** Milliseconds, for the rate limiter; Date.now by default. */
  readonly now?: () => number;
  /** Client addresses (and keys) the rate limiter remembers at most. */
  readonly maxTrackedClients?: number;
  /** How long a request may take to arrive, headers and body; REQUEST_TIMEOUT_MS by default. */
  readonly requestTimeoutMs?: number;
  /** Connections open at once; MAX_CONNECTIONS by default. */
  readonly maxConnections?: number;
  /** Connections one address (an IPv6 /64) may hold; MAX_CONNECTIONS_PER_ADDRESS by default. */
  readonly maxConnectionsPerAddress?: number;
  /** Addresses exempt from maxConnectionsPerAddress; loopback ones by default. */
  readonly perAddressExempt?: (address: string) => boolean;
}

const REQUEST_TIMEOUT_MS = 10_000;
/**
 * How often Node looks for requests past their time: its default, 30 s, would let a client that
 * drips a header every few seconds hold its connection three times longer than the timeout says.
 */
const TIMEOUT_CHECK_MS = 1_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * On close, how long requests already being answered get to finish. A connection still sending its
 * request is not idle, so Node's close would wait for it until requestTimeout: a client that stalls
 * mid-request held a SIGTERM's exit for 10 s.
 */
const CLOSE_GRACE_MS = 1_000;
/**
 * Connections the endpoint holds at once; past it Node closes new ones at once. The file descriptors
 * are the relay's too: a flood of idle connections must not leave relay sockets unable to bind.
 */
const MAX_CONNECTIONS = 1_024;
/** A sixteenth of the places: one address past it cannot keep the others out. */
const MAX_CONNECTIONS_PER_ADDRESS = 64;
const DROP_LOG_INTERVAL_MS = 60_000;

/** Listens on options.listeningIp:listeningPort (0: any free port), over HTTPS when options.tls is set. */
export async function startApiServer(deps: ApiDeps, internals: ApiServerInternals = {}): Promise<RunningApi> {
  const { options } = deps;
  checkApiOptions(options);
  const logger = createApiLogger(deps.logger);
  const scheme = options.tls === undefined ? "http" : "https";
  const where = `${scheme} ${formatHostPort(options.listeningIp, options.listeningPort)}`;
  const requestTimeoutMs = internals.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;

  let app: ApiApp;
  try {
    app = fastify({
      loggerInstance: logger,
      logController: new LogController({ disableRequestLogging: true }),
      // A TLS handshake is not under connectionTimeout: without its own limit (120 s by default) silent
      // connections would hold places under maxConnections.
      https: options.tls === undefined ? null : { cert: options.tls.cert, key: options.tls.key, secureOptions: NO_RENEGOTIATION, handshakeTimeout: requestTimeoutMs },
      bodyLimit: BODY_LIMIT_BYTES,
      connectionTimeout: requestTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      // Client addresses are the socket's: behind a reverse proxy every client shares the proxy's allowance.
      trustProxy: false,
      exposeHeadRoutes: false,
      routerOptions: { querystringParser: parseQueryString },
      frameworkErrors: (_error, _request, reply) => {
        sendError(reply, 400, "malformed request");
      },
      clientErrorHandler: createClientErrorHandler(logger),
    });
  } catch (error) {
    // In practice the one failure here: https.createServer refusing the certificate or key.
    const what = options.tls === undefined ? "" : "the TLS certificate or key was refused: ";
    throw new ApiStartError(`cannot start the API endpoint on ${where}: ${what}${describe(error)}`, { cause: error });
  }

  const now = internals.now ?? Date.now;
  const maxTracked = internals.maxTrackedClients ?? DEFAULT_MAX_TRACKED;
  const limiter = () => createRateLimiter({ perMinute: options.rateLimitPerMinute, now, maxTracked });
  let keys = createApiKeyVerifier(options.apiKeys);
  const context: ApiContext = {
    deps,
    guard: createAccessGuard({
      verifier: {
        match: (presented) => keys.match(presented),
        subjectOf: (index) => keys.subjectOf(index),
        get keyCount() {
          return keys.keyCount;
        },
      },
      allowAnonymous: options.allowAnonymous,
      corsOrigins: options.corsOrigins,
      addressLimiter: limiter(),
      keyLimiter: limiter(),
    }),
  };
  const responses = createResponseCounts();
  const metrics = createMetricsRegistry(() => deps.stats(), () => responses.entries());
  app.addHook("onResponse", (request, reply, done) => {
    responses.record(request.routeOptions.url, reply.statusCode);
    done();
  });
  configureApp(app);
  registerCors(app, options.corsOrigins);
  registerCredentialRoutes(app, context);
  registerRevokeRoute(app, context);
  registerDrainRoute(app, context);
  registerHealthRoutes(app, context, metrics);
  // createServer's connectionsCheckingInterval, which fastify's types take for neither server; Node reads it at listen.
  (app.server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = TIMEOUT_CHECK_MS;
  // Left at Node's 60 s, it, not requestTimeout, ends a request whose headers are whole and whose body drips in.
  app.server.headersTimeout = requestTimeoutMs;
  app.server.maxConnections = internals.maxConnections ?? MAX_CONNECTIONS;
  let dropped = 0;
  let lastDropLogMs = Number.NEGATIVE_INFINITY;
  app.server.on("drop", () => {
    dropped++;
    const nowMs = now();
    if (nowMs - lastDropLogMs < DROP_LOG_INTERVAL_MS) return;
    lastDropLogMs = nowMs;
    logger.warn({ maxConnections: app.server.maxConnections, droppedSoFar: dropped }, "api connections at their limit: new ones are closed at once");
  });
  const perAddress = internals.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS;
  let lastPerAddressLogMs = Number.NEGATIVE_INFINITY;
  const perAddressDrops = capConnectionsPerAddress(app.server, {
    perAddress,
    ...(internals.perAddressExempt ? { exempt: internals.perAddressExempt } : {}),
    onDrop: (subject) => {
      const nowMs = now();
      if (nowMs - lastPerAddressLogMs < DROP_LOG_INTERVAL_MS) return;
      lastPerAddressLogMs = nowMs;
      logger.warn({ client: subject, maxConnectionsPerAddress: perAddress, droppedSoFar: perAddressDrops.count }, "api connections from one address at their limit: its new ones are closed at once");
    },
  });

  try {
    await app.listen({
      host: options.listeningIp,
      port: options.listeningPort,
      listenTextResolver: (address) => `api listening on ${address}`,
    });
  } catch (error) {
    await app.close().catch(() => undefined);
    metrics.clear();
    throw new ApiStartError(`cannot listen on ${where}: ${describeListenFailure(error)}`, { cause: error });
  }
  if (options.apiKeys.length === 0 && !options.allowAnonymous) {
    logger.warn(NO_API_KEYS);
  }

  const address = app.server.address() as AddressInfo;
  return {
    address: address.address,
    port: address.port,
    setApiKeys(next) {
      checkApiKeys(next);
      keys = createApiKeyVerifier(next);
    },
    setTlsMaterial(material) {
      if (!(app.server instanceof TlsServer)) throw new Error("the endpoint is not HTTPS");
      app.server.setSecureContext({ cert: material.cert, key: material.key, secureOptions: NO_RENEGOTIATION });
    },
    async close() {
      const lingering = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      lingering.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(lingering);
      }
      metrics.clear();
    },
  };
}

/** An empty key would match a malformed Authorization header (readBearerToken gives ""). */
function checkApiKeys(keys: readonly string[]): void {
  if (keys.some((key) => key.length === 0)) throw new ApiStartError("an API key must not be empty");
}

/** Settings the endpoint cannot run with; the config layer checks most of them earlier. */
function checkApiOptions(options: ApiOptions): void {
  if (options.allowAnonymous && !isLoopbackAddress(options.listeningIp)) {
    throw new ApiStartError(
      `refusing anonymous API access on ${options.listeningIp}: it is only allowed on a loopback address ` +
        "(127.0.0.0/8 or ::1); configure an API key instead",
    );
  }
  checkApiKeys(options.apiKeys);
  const positive = (value: number): boolean => Number.isSafeInteger(value) && value > 0;
  if (!positive(options.defaultTtlSeconds) || !positive(options.maxTtlSeconds)) {
    throw new ApiStartError("the default and maximum credential TTL must be positive whole numbers of seconds");
  }
  if (!Number.isSafeInteger(options.rateLimitPerMinute) || options.rateLimitPerMinute < 0) {
    throw new ApiStartError("the API rate limit must be a whole number of requests per minute (0: no limit)");
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
