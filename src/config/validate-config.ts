// The rules that span fields or touch the file system, for every way a Config is made.
import { accessSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "./config.js";
import { ConfigError, type ConfigLocation } from "./config-error.js";

export type FieldLocation = ConfigLocation & { readonly key: string };

/**
 * Where a field's value came from, for the error message; the table's key when it came from the defaults or the API.
 * With `index`, where that element of a list field came from, when known.
 */
export type LocateField = (field: keyof Config, index?: number) => FieldLocation;

export function validateConfig(config: Config, locate: LocateField): void {
  if (config.minPort > config.maxPort) {
    const where = setLater(locate("minPort"), locate("maxPort"));
    throw new ConfigError(`max-port ${config.maxPort} is below min-port ${config.minPort}`, where);
  }
  if ((config.cert === undefined) !== (config.pkey === undefined)) {
    const [given, missing] = config.cert === undefined ? (["pkey", "cert"] as const) : (["cert", "pkey"] as const);
    throw new ConfigError(`${given} is set without ${missing}: TLS needs both`, locate(given));
  }
  if (config.cert !== undefined) checkReadableFile("cert", config.cert, locate("cert"));
  if (config.pkey !== undefined) checkReadableFile("pkey", config.pkey, locate("pkey"));
  if (config.noUdp && config.noTcp && config.noTls) {
    const where = setLater(setLater(locate("noUdp"), locate("noTcp")), locate("noTls"));
    throw new ConfigError("no-udp, no-tcp and no-tls together leave nothing to listen on", where);
  }
  if (config.logFile !== undefined && config.logFile !== "stdout" && config.logFile !== "-") {
    checkDirectory(config.logFile, locate("logFile"));
  }
  checkUniqueUserNames(config.users, locate);
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

/** The location set last: the command line after the file, a later line after an earlier one; `b` on a tie. */
function setLater(a: FieldLocation, b: FieldLocation): FieldLocation {
  const rank = (where: FieldLocation): number => (where.commandLine === true ? Infinity : (where.line ?? -1));
  return rank(a) > rank(b) ? a : b;
}

function checkReadableFile(what: string, path: string, where: FieldLocation): void {
  try {
    if (!statSync(path).isFile()) throw new ConfigError(`cannot read ${what} file ${path}: not a regular file`, where);
    accessSync(path, constants.R_OK);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read ${what} file ${path}: ${describeFsError(error)}`, where);
  }
}

function checkDirectory(file: string, where: FieldLocation): void {
  const directory = dirname(file);
  try {
    if (!statSync(directory).isDirectory()) throw new ConfigError(`cannot write log-file ${file}: ${directory} is not a directory`, where);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot write log-file ${file}: ${directory}: ${describeFsError(error)}`, where);
  }
}

export function describeFsError(error: unknown): string {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  if (code === "ENOTDIR") return "a parent in the path is not a directory";
  return error instanceof Error ? error.message : String(error);
}
