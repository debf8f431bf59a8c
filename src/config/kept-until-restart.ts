// What a reload cannot change: the sockets, threads, relay addresses, realm and logger made at start,
// and what the packet path and the stream listeners are built with once (see turn-runtime.ts, relay-node.ts).
import type { Config } from "./config.js";
import { findFieldOption } from "./options.js";

export const KEPT_UNTIL_RESTART = [
  "listeningIps",
  "listeningPort",
  "tlsListeningPort",
  "noUdp",
  "noTcp",
  "noTls",
  "relayThreads",
  "relayIps",
  "externalIps",
  "minPort",
  "maxPort",
  "realm",
  "noApi",
  "apiListeningIp",
  "apiListeningPort",
  "apiCert",
  "apiPkey",
  "apiAllowAnonymous",
  "apiCorsOrigins",
  "apiRateLimitPerMinute",
  "logFile",
  "logLevel",
  "pidfile",
  // Connected once, at start.
  "redisUrl",
  // Its timers, and V8's gc function for every thread, are set up at start.
  "heapTrim",
  // The dispatcher, the nonce service and the Binding handler are made at start.
  "fingerprint",
  "software",
  "mappedAddress",
  "staleNonceSeconds",
  "unauthorizedRatelimit",
  "rfc5766ChannelNumbers",
  // The TCP/TLS listeners take them when they open.
  "streamIdleTimeoutSeconds",
  "maxAllocateTimeoutSeconds",
  "maxTcpConnections",
  "maxTcpConnectionsPerIp",
] as const satisfies readonly (keyof Config)[];

/**
 * The configuration a reload puts in force: `next`, with the options above as `started` had them
 * (a relay thread restarted later starts with these too), and the keys of those `next` changes.
 * `applied`: the configuration in force now (a reload may have renewed the certificate since the start).
 */
export function reloadedConfig(started: Config, next: Config, applied: Config = started): { readonly config: Config; readonly kept: readonly string[]; readonly tlsKept: boolean } {
  const changed = KEPT_UNTIL_RESTART.filter((field) => JSON.stringify(next[field]) !== JSON.stringify(started[field]));
  const startValues: Partial<Config> = Object.fromEntries(KEPT_UNTIL_RESTART.map((field) => [field, started[field]]));
  const kept = changed.map((field) => findFieldOption(field)?.key ?? field);
  // cert and pkey reload (a renewed certificate), but turning TLS on or off takes a restart (its
  // listeners): until then the certificate in force stays, as it was last applied.
  if (hasTls(next) === hasTls(started)) return { config: { ...next, ...startValues }, kept, tlsKept: false };
  return { config: { ...next, ...startValues, cert: applied.cert, pkey: applied.pkey }, kept: [...kept, "cert", "pkey"], tlsKept: true };
}

function hasTls(config: Config): boolean {
  return Boolean(config.cert && config.pkey) && !config.noTls;
}
