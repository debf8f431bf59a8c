// The rules that span fields or touch the file system, for every way a Config is made.
import { accessSync, constants, lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Config } from "./config.js";
import { checkTlsPair } from "../transport/tls-pair.js";
import { ipToBigInt } from "../turn/ip-range.js";
import { ConfigError, type ConfigLocation } from "./config-error.js";

export type FieldLocation = ConfigLocation & { readonly key: string };

/**
 * Where a field's value came from, for the error message; the table's key when it came from the defaults or the API.
 * With `index`, where that element of a list field came from, when known.
 */
export type LocateField = (field: keyof Config, index?: number) => FieldLocation;

export interface ValidationRules {
  /**
   * Also check that this process could write log-file and pidfile (start, check-config).
   * Commands that only read the configuration (credentials, reload) skip it: they may run as another user.
   */
  readonly writableFiles?: boolean;
  /**
   * For a running server's reload: log-file and pidfile keep their values until a restart, so they are
   * not checked at all (a log-file path logrotate left odd must not hold back a secret's rotation).
   */
  readonly forReload?: boolean;
}

export function validateConfig(config: Config, locate: LocateField, rules: ValidationRules = {}): void {
  if (config.minPort > config.maxPort) {
    const where = setLater(locate("minPort"), locate("maxPort"));
    throw new ConfigError(`max-port ${config.maxPort} is below min-port ${config.minPort}`, where);
  }
  checkTlsFiles({ cert: "cert", pkey: "pkey" }, config, locate);
  checkTlsPort(config, locate);
  if (config.noUdp && config.noTcp && config.noTls) {
    const where = setLater(setLater(locate("noUdp"), locate("noTcp")), locate("noTls"));
    throw new ConfigError("no-udp, no-tcp and no-tls together leave nothing to listen on", where);
  }
  if (config.logFile !== undefined && config.logFile !== "stdout" && config.logFile !== "-" && rules.forReload !== true) {
    checkWritablePath({ what: "log-file", file: config.logFile, where: locate("logFile"), rules, replacedByRename: false });
  }
  if (config.pidfile !== undefined && rules.forReload !== true) checkWritablePath({ what: "pidfile", file: config.pidfile, where: locate("pidfile"), rules, replacedByRename: true });
  checkUniqueUserNames(config.users, locate);
  checkListeningIps(config.listeningIps, locate);
  validateApi(config, locate);
  if (config.bpsCapacity > 0) checkBpsCapacity(config, locate);
}

/** Each allocation reserves max-bps of bps-capacity: without max-bps, or below it, the capacity means nothing or refuses all. */
function checkBpsCapacity(config: Config, locate: LocateField): void {
  const where = setLater(locate("bpsCapacity"), locate("maxBps"));
  if (config.maxBps === 0) throw new ConfigError("bps-capacity needs max-bps: each allocation reserves max-bps of the capacity", where);
  if (config.bpsCapacity < config.maxBps) {
    throw new ConfigError(
      `bps-capacity ${config.bpsCapacity} is below max-bps ${config.maxBps}: each allocation reserves max-bps of it, so every Allocate would get 508`,
      where,
    );
  }
}

/** The credential endpoint's rules; with no-api only the TTLs', which `turnpike credentials` uses too. */
function validateApi(config: Config, locate: LocateField): void {
  if (config.restDefaultTtlSeconds > config.restMaxTtlSeconds) {
    const where = setLater(locate("restDefaultTtlSeconds"), locate("restMaxTtlSeconds"));
    throw new ConfigError(`rest-default-ttl ${config.restDefaultTtlSeconds} is above rest-max-ttl ${config.restMaxTtlSeconds}`, where);
  }
  if (config.noApi) return;
  checkTlsFiles({ cert: "apiCert", pkey: "apiPkey" }, config, locate);
  if (config.apiAllowAnonymous && !isLoopback(config.apiListeningIp)) {
    const where = setLater(locate("apiAllowAnonymous"), locate("apiListeningIp"));
    throw new ConfigError(
      `api-allow-anonymous is refused with api-listening-ip ${config.apiListeningIp}, which is not loopback (127.0.0.0/8 or ::1): ` +
        "anyone who reaches it could mint TURN credentials; configure an api-key instead",
      where,
    );
  }
  const clash = clashingTurnPort(config);
  if (clash !== undefined) {
    const where = setLater(locate("apiListeningPort"), locate(clash.field));
    throw new ConfigError(
      `api-listening-port ${config.apiListeningPort} is also the ${clash.transport} listening port on ${config.apiListeningIp}: give the credential endpoint another port`,
      where,
    );
  }
}

/** TCP and TLS are separate listeners: on one port the second fails with "address already in use". */
function checkTlsPort(config: Config, locate: LocateField): void {
  const tls = config.cert !== undefined && config.pkey !== undefined && !config.noTls;
  if (!tls || config.noTcp || config.listeningPort === 0 || config.tlsListeningPort !== config.listeningPort) return;
  const where = setLater(locate("listeningPort"), locate("tlsListeningPort"));
  throw new ConfigError(
    `tls-listening-port ${config.tlsListeningPort} is also listening-port, where TCP listens: give TLS another port (5349 is the standard one), or set no-tcp`,
    where,
  );
}

/** cert/pkey and api-cert/api-pkey: both or neither, readable, and a certificate and key TLS can use together. */
function checkTlsFiles(fields: { cert: "cert" | "apiCert"; pkey: "pkey" | "apiPkey" }, config: Config, locate: LocateField): void {
  const cert = config[fields.cert];
  const pkey = config[fields.pkey];
  const certKey = locate(fields.cert).key;
  const pkeyKey = locate(fields.pkey).key;
  if ((cert === undefined) !== (pkey === undefined)) {
    const [given, missing] = cert === undefined ? [fields.pkey, certKey] : [fields.cert, pkeyKey];
    throw new ConfigError(`${locate(given).key} is set without ${missing}: TLS needs both`, locate(given));
  }
  if (cert === undefined || pkey === undefined) return;
  const certPem = readConfiguredFile(certKey, cert, locate(fields.cert));
  const pkeyPem = readConfiguredFile(pkeyKey, pkey, locate(fields.pkey));
  try {
    checkTlsPair(certPem, pkeyPem);
  } catch (error) {
    const where = setLater(locate(fields.cert), locate(fields.pkey));
    throw new ConfigError(`cannot use ${certKey} ${cert} with ${pkeyKey} ${pkey}: ${(error as Error).message}`, where);
  }
}

/** True for 127.0.0.0/8 and ::1, however written: the only addresses anonymous minting may listen on. */
export function isLoopback(ip: string): boolean {
  const parsed = ipToBigInt(ip);
  if (parsed === undefined) return false;
  return parsed.family === "IPv4" ? parsed.value >> 24n === 127n : parsed.value === 1n;
}

/** The TURN listener on the endpoint's port and an address it binds too, if any; a clear error beats "address in use". */
function clashingTurnPort(config: Config): { transport: "TCP" | "TLS"; field: "listeningPort" | "tlsListeningPort" } | undefined {
  if (config.noApi || config.apiListeningPort === 0) return undefined;
  const overlaps =
    config.listeningIps.length === 0 ||
    isWildcard(config.apiListeningIp) ||
    config.listeningIps.some((ip) => isWildcard(ip) || sameAddress(ip, config.apiListeningIp));
  if (!overlaps) return undefined;
  if (!config.noTcp && config.apiListeningPort === config.listeningPort) return { transport: "TCP", field: "listeningPort" };
  const tls = config.cert !== undefined && config.pkey !== undefined && !config.noTls;
  if (tls && config.apiListeningPort === config.tlsListeningPort) return { transport: "TLS", field: "tlsListeningPort" };
  return undefined;
}

/** 0.0.0.0 or ::, however written: every address of the family. */
export function isWildcard(ip: string): boolean {
  return ipToBigInt(ip)?.value === 0n;
}

function sameAddress(a: string, b: string): boolean {
  const left = ipToBigInt(a);
  const right = ipToBigInt(b);
  return left !== undefined && right !== undefined && left.family === right.family && left.value === right.value;
}

/** Two `user` lines for one name is a mistake the credential store refuses; catch it here, with its line. */
function checkUniqueUserNames(users: readonly string[], locate: LocateField): void {
  const firstIndex = new Map<string, number>();
  users.forEach((user, index) => {
    const name = user.slice(0, user.indexOf(":"));
    const earlier = firstIndex.get(name);
    if (earlier === undefined) {
      firstIndex.set(name, index);
      return;
    }
    const before = locate("users", earlier);
    const also = before.line === undefined ? "" : ` (also on line ${before.line})`;
    throw new ConfigError(`user "${name}" is defined twice${also}`, locate("users", index));
  });
}

/**
 * Each listening-ip is bound on the same ports: an address given twice, however written, or beside the
 * wildcard of its family (which binds every address of it), would fail at start as "address in use",
 * as if another process held the port.
 */
function checkListeningIps(ips: readonly string[], locate: LocateField): void {
  const seen: { ip: string; family: string; value: bigint; index: number }[] = [];
  ips.forEach((ip, index) => {
    const parsed = ipToBigInt(ip);
    if (parsed === undefined) return;
    for (const earlier of seen) {
      if (earlier.family !== parsed.family) continue;
      const before = locate("listeningIps", earlier.index);
      const onLine = before.line === undefined ? "" : ` on line ${before.line}`;
      if (earlier.value === parsed.value) {
        const again = earlier.ip === ip ? "is given twice" : `is ${earlier.ip} again`;
        throw new ConfigError(`listening-ip ${ip} ${again} (first${onLine || " given"})`, locate("listeningIps", index));
      }
      if (earlier.value === 0n || parsed.value === 0n) {
        const [wildcard, other] = earlier.value === 0n ? [earlier.ip, ip] : [ip, earlier.ip];
        throw new ConfigError(`listening-ip ${wildcard} binds every ${parsed.family} address, ${other} included (the other${onLine || " given"}): give one or the other`, locate("listeningIps", index));
      }
    }
    seen.push({ ip, family: parsed.family, value: parsed.value, index });
  });
}

/** The location set last: the command line after the file, a later line after an earlier one; `b` on a tie. */
function setLater(a: FieldLocation, b: FieldLocation): FieldLocation {
  const rank = (where: FieldLocation): number => (where.commandLine === true ? Infinity : (where.line ?? -1));
  return rank(a) > rank(b) ? a : b;
}

function readConfiguredFile(what: string, path: string, where: FieldLocation): Buffer {
  try {
    if (!statSync(path).isFile()) throw new ConfigError(`cannot read ${what} file ${path}: not a regular file`, where);
    return readFileSync(path);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read ${what} file ${path}: ${describeFsError(error)}`, where);
  }
}

interface WritablePath {
  readonly what: string;
  readonly file: string;
  readonly where: FieldLocation;
  readonly rules: ValidationRules;
  /** Written as a new file in its directory, then renamed over: the directory must take it, whatever the file's mode. */
  readonly replacedByRename: boolean;
}

/**
 * A file the server will write: not a directory, in a directory that exists; with writableFiles, writable
 * by this process. Without it, what this process may not look into is left for the server's user to judge.
 */
function checkWritablePath({ what, file, where, rules, replacedByRename }: WritablePath): void {
  const refuse = (path: string, reason: string): never => {
    throw new ConfigError(`cannot write ${what} ${file}${path === file ? "" : `: ${path}`}: ${reason}`, where);
  };
  const strict = rules.writableFiles === true;
  const existing = statPath(file);
  if (existing instanceof Error) {
    if (!strict && isAccessError(existing)) return;
    return refuse(file, describeFsError(existing));
  }
  if (existing?.isDirectory() === true) refuse(file, "it is a directory");
  // A dangling symbolic link is opened as the file it names: that file's directory is the one that must exist.
  const directory = dirname(existing === undefined ? (linkTarget(file) ?? file) : file);
  const parent = statPath(directory);
  if (parent instanceof Error) {
    if (!strict && isAccessError(parent)) return;
    return refuse(directory, describeFsError(parent));
  }
  if (parent === undefined) return refuse(directory, "no such file or directory");
  if (!parent.isDirectory()) refuse(file, `${directory} is not a directory`);
  if (!strict) return;
  const target = existing === undefined || replacedByRename ? directory : file;
  try {
    accessSync(target, constants.W_OK);
  } catch (error) {
    refuse(target, describeFsError(error));
  }
}

/** The path's status, undefined when there is nothing there, or why it could not be read. */
function statPath(path: string): ReturnType<typeof statSync> | undefined | Error {
  try {
    return statSync(path);
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return undefined;
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Where a symbolic link at `path` points, resolved; undefined when `path` is not one. */
function linkTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? resolve(dirname(path), readlinkSync(path)) : undefined;
  } catch {
    return undefined;
  }
}

function isAccessError(error: Error): boolean {
  return "code" in error && (error.code === "EACCES" || error.code === "EPERM");
}

export function describeFsError(error: unknown): string {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  if (code === "ENOTDIR") return "a parent in the path is not a directory";
  return error instanceof Error ? error.message : String(error);
}
