// defaults <- conf file <- command-line flags, every value parsed by its row of the table.
import { isUtf8 } from "node:buffer";
import { readFileSync, statSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";
import { DEFAULT_CONFIG, type Config } from "./config.js";
import { ConfigError, reasonOf, type ConfigLocation } from "./config-error.js";
import { finishConfig } from "./finish-config.js";
import { findFieldOption, OPTIONS } from "./options.js";
import { flagParser } from "./value-parsers.js";
import { parseArgs } from "./parse-args.js";
import { parseConfigText, type ConfigEntry } from "./parse-file.js";
import { describeUnknownKey, isNearKnownKey, resolveKey, showUnknownKey } from "./resolve-key.js";
import { describeFsError, type FieldLocation } from "./validate-config.js";

const UNNAMED_UNKNOWN_OPTION =
  'unknown option (not shown: it is close to no option name and may be a value on a line of its own); a line holds "key=value", "key value" or a bare flag';

export interface LoadConfigOptions {
  /** A coturn-style conf file; none means defaults and flags only. */
  readonly file?: string;
  /** Command-line options (`--listening-port 3478`, `--no-udp`); they win over the file. */
  readonly args?: readonly string[];
  /** Also check that this process could write log-file and pidfile: for start and check-config. */
  readonly writableFiles?: boolean;
  /** For a running server's reload: log-file and pidfile, kept until a restart, are not checked. */
  readonly forReload?: boolean;
}

export interface LoadedConfig {
  readonly config: Config;
  /** One line each, for the operator: ignored coturn options, keys given twice. */
  readonly warnings: string[];
}

interface Source {
  readonly entries: readonly ConfigEntry[];
  readonly file?: string;
  readonly baseDir: string;
  /** Command-line occurrences of a repeatable option replace the file's list instead of adding to it. */
  readonly replacesLists: boolean;
}

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const sources: Source[] = [];
  if (options.file !== undefined) {
    sources.push({ entries: readConfigFile(options.file), file: options.file, baseDir: dirname(resolve(options.file)), replacesLists: false });
  }
  sources.push({ entries: parseArgs(options.args ?? []), baseDir: process.cwd(), replacesLists: true });

  const draft: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const origins = new Map<keyof Config, FieldLocation>();
  /** Per element of a list field: where each one came from. */
  const elementOrigins = new Map<keyof Config, FieldLocation[]>();
  const ignored: IgnoredOption[] = [];
  /** coturn options that ask for what turnpike does anyway (no-loopback-peers). */
  const alreadyDefault = new Set<string>();
  const warnings: string[] = [];

  for (const source of sources) {
    const replaced = new Set<keyof Config>();
    const seen = new Map<string, ConfigLocation>();
    for (const entry of source.entries) {
      const where: ConfigLocation = source.file === undefined ? { commandLine: true } : { file: source.file, line: entry.line };
      const resolved = resolveKey(entry.key);
      if (resolved === undefined) {
        // A word close to no option name, alone or before a bare "=", may be a value on a line of its own
        // (a secret, say; base64 ends in "="): not echoed.
        if ((entry.value === undefined || entry.value === "") && !isNearKnownKey(entry.key)) throw new ConfigError(UNNAMED_UNKNOWN_OPTION, where);
        throw new ConfigError(describeUnknownKey(entry.key), { ...where, key: showUnknownKey(entry.key) });
      }
      if (resolved.kind === "coturn") {
        if (resolved.coturn.alreadyDefault) {
          // The last one given counts, as for every flag.
          if (isFalseFlag(entry.value)) alreadyDefault.delete(entry.key);
          else alreadyDefault.add(entry.key);
        } else if (!ignored.some((seenKey) => seenKey.key === entry.key)) {
          const { loosensSecurity, userDatabase, instead } = resolved.coturn;
          ignored.push({ key: entry.key, loosensSecurity: loosensSecurity === true, userDatabase: userDatabase === true, instead });
        }
        continue;
      }
      const { option } = resolved;
      const name = source.file === undefined ? `--${entry.key}` : entry.key;
      if (option.parser.kind === "value" && (entry.value === undefined || entry.value === "")) {
        throw new ConfigError(`${name} needs a value (${option.parser.placeholder})`, { ...where, key: entry.key });
      }
      let value: unknown;
      try {
        value = option.parser.parse(entry.value, { baseDir: source.baseDir });
      } catch (error) {
        // coturn's use-auth-secret is a flag too; its secret is static-auth-secret's value.
        const hint = option.field === "useAuthSecret" ? `; the secret goes in ${source.file === undefined ? "--" : ""}static-auth-secret` : "";
        throw new ConfigError(`invalid value for ${name}: ${reasonOf(error)}${hint}`, { ...where, key: entry.key });
      }
      if (option.repeatable) {
        const replacing = source.replacesLists && !replaced.has(option.field);
        const list = replacing ? [] : [...(draft[option.field] as readonly unknown[])];
        const locations = replacing ? [] : (elementOrigins.get(option.field) ?? []);
        replaced.add(option.field);
        draft[option.field] = [...list, value];
        elementOrigins.set(option.field, [...locations, { ...where, key: entry.key }]);
      } else {
        const earlier = seen.get(entry.key);
        if (earlier !== undefined) warnings.push(describeRepeat(name, where, earlier));
        seen.set(entry.key, where);
        draft[option.field] = value;
      }
      origins.set(option.field, { ...where, key: entry.key });
    }
  }

  // As in coturn, a static-auth-secret turns use-auth-secret on; only an explicit use-auth-secret=false keeps it off.
  if (!origins.has("useAuthSecret") && (draft.staticAuthSecrets as readonly string[]).length > 0) draft.useAuthSecret = true;
  const config = finishConfig(
    draft,
    (field, index) =>
      (index === undefined ? undefined : elementOrigins.get(field)?.[index]) ?? origins.get(field) ?? { key: findFieldOption(field)?.key ?? field },
    { writableFiles: options.writableFiles === true, forReload: options.forReload === true },
  );
  if (ignored.length > 0) warnings.unshift(describeIgnored(ignored));
  warnings.push(...describeInactiveCredentials(config));
  if (config.noApi) {
    const unused = API_FIELDS.filter((field) => origins.has(field)).map((field) => origins.get(field)?.key ?? field);
    if (unused.length > 0) warnings.push(`no-api is set: the credential endpoint is off, so ${unused.join(", ")} ${unused.length === 1 ? "does" : "do"} nothing`);
  }
  if (config.allowLoopbackPeers && alreadyDefault.has("no-loopback-peers")) {
    warnings.push("no-loopback-peers and allow-loopback-peers are both set: allow-loopback-peers wins, and loopback peers are allowed");
  }
  return { config, warnings };
}

/** The credential endpoint's own options, api-* (the rest-* ones also shape `turnpike credentials`). */
const API_FIELDS: readonly (keyof Config)[] = [...new Set(OPTIONS.filter((option) => option.key.startsWith("api-")).map((option) => option.field))];

function readConfigFile(file: string): ConfigEntry[] {
  let bytes: Buffer;
  try {
    // A device may never end the read (/dev/zero) or block it, and a pipe (-c <(...)) would read empty
    // on a reload, dropping every user and secret: only a regular file, or /dev/null for no settings.
    const info = statSync(file);
    if (!info.isFile() && !isDevNull(info)) throw new ConfigError("cannot read config file: not a regular file", { file });
    bytes = readFileSync(file);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read config file: ${describeFsError(error)}`, { file });
  }
  return parseConfigText(decodeUtf8(bytes, file), file);
}

function isDevNull(info: Stats): boolean {
  if (!info.isCharacterDevice()) return false;
  try {
    return info.rdev === statSync("/dev/null").rdev;
  } catch {
    return false;
  }
}

/** The file's text; bytes that are not UTF-8 would otherwise become U+FFFD, changing a secret without a word. */
function decodeUtf8(bytes: Buffer, file: string): string {
  if (isUtf8(bytes)) return bytes.toString("utf8");
  // Latin-1 keeps one character per byte: the file's lines, split as parseConfigText splits them.
  const line = bytes
    .toString("latin1")
    .split(/\r\n|\n|\r/)
    .findIndex((text) => !isUtf8(Buffer.from(text, "latin1")));
  throw new ConfigError("not valid UTF-8 (the line is not shown: it may hold a secret); save the file as UTF-8", line < 0 ? { file } : { file, line: line + 1 });
}

function describeRepeat(name: string, where: ConfigLocation, earlier: ConfigLocation): string {
  const location = where.file === undefined ? "command line" : `${where.file}:${where.line}`;
  const before = earlier.line === undefined ? "earlier" : `on line ${earlier.line}`;
  return `${location}: ${name} is also set ${before}; the last one wins`;
}

interface IgnoredOption {
  readonly key: string;
  readonly loosensSecurity: boolean;
  readonly userDatabase: boolean;
  readonly instead: string | undefined;
}

/** The one warning for coturn options turnpike accepts but does not act on yet. */
function describeIgnored(ignored: readonly IgnoredOption[]): string {
  const names = ignored.map((option) => option.key);
  const loosening = ignored.filter((option) => option.loosensSecurity).map((option) => option.key);
  const databases = ignored.filter((option) => option.userDatabase).map((option) => option.key);
  const notes = [
    ...(loosening.length === 0 ? [] : [`NOT enforced, so access is less restricted than they ask: ${loosening.join(", ")}`]),
    ...(databases.length === 0
      ? []
      : [`NOT read, so the users and secrets kept there are refused, and the quotas and peer rules kept there are not enforced: ${databases.join(", ")}`]),
    ...[...new Set(ignored.flatMap((option) => (option.instead === undefined ? [] : [option.instead])))].map(
      (instead) => `${ignored.filter((option) => option.instead === instead).map((option) => option.key).join(", ")}: ${instead}`,
    ),
  ];
  return `ignoring coturn options turnpike does not implement yet: ${names.join(", ")}${notes.map((note) => `; ${note}`).join("")}`;
}

/** Settings that load but do nothing as combined: said once here, so check-config shows them too. */
export function describeInactiveCredentials(config: Config): string[] {
  const found: string[] = [];
  if (!config.useAuthSecret && config.staticAuthSecrets.length > 0) {
    found.push("static-auth-secret is ignored: use-auth-secret is false, so REST credentials will all be refused");
  }
  if (config.useAuthSecret && config.staticAuthSecrets.length === 0) {
    found.push("use-auth-secret is set but no static-auth-secret is given: REST credentials will all be refused");
  }
  return found;
}

/** `no-loopback-peers=false`: coturn's flags take the same true/false words as ours. */
function isFalseFlag(value: string | undefined): boolean {
  try {
    return flagParser.parse(value, { baseDir: "" }) === false;
  } catch {
    return false;
  }
}
