// What a reload cannot change: the sockets, threads, relay addresses, realm and logger made at start.
import type { Config } from "./config.js";
import { findFieldOption } from "./options.js";

const KEPT_UNTIL_RESTART = [
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
] as const satisfies readonly (keyof Config)[];

/**
 * The configuration a reload puts in force: `next`, with the options above as `started` had them
 * (a relay thread restarted later starts with these too), and the keys of those `next` changes.
 */
export function reloadedConfig(started: Config, next: Config): { readonly config: Config; readonly kept: readonly string[] } {
  // cert and pkey reload (a renewed certificate), but turning TLS on or off takes a restart: its listeners.
  const kept = hasTls(next) === hasTls(started) ? KEPT_UNTIL_RESTART : [...KEPT_UNTIL_RESTART, "cert" as const, "pkey" as const];
  const changed = kept.filter((field) => JSON.stringify(next[field]) !== JSON.stringify(started[field]));
  const startValues: Partial<Config> = Object.fromEntries(kept.map((field) => [field, started[field]]));
  return { config: { ...next, ...startValues }, kept: changed.map((field) => findFieldOption(field)?.key ?? field) };
}

function hasTls(config: Config): boolean {
  return Boolean(config.cert && config.pkey) && !config.noTls;
}
