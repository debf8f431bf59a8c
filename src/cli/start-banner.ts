// What `turnpike start` prints (to stdout, never through the logger) when it runs on generated credentials:
// where they are kept, and a command that fetches a credential without the key appearing in it.
import type { Config } from "../config/config.js";
import { parseArgs } from "../config/parse-args.js";
import { resolveKey, takesSeparateValue } from "../config/resolve-key.js";
import type { CliServer } from "./run.js";

/** The credential endpoint's path, as served by src/api. */
export const CREDENTIALS_PATH = "/api/v1/credentials";

export interface GeneratedCredentialsNote {
  readonly stateFile: string;
  readonly created: boolean;
  /** start's own flags that shape what `turnpike credentials` prints (from credentialsFlags), so that the two agree. */
  readonly credentialsFlags: readonly string[];
  /** The endpoint's address; undefined when it is off (no-api). */
  readonly api?: CliServer["api"];
}

export function formatGeneratedCredentialsNote(note: GeneratedCredentialsNote): string {
  const flags = note.credentialsFlags.map((flag) => ` ${flag}`).join("");
  const rows: [string, string][] = [
    ["State file:", `${note.stateFile} (keep it private)`],
    note.api === undefined ? ["Credential API:", "off (no-api)"] : ["Get a credential:", formatCurlCommand(note.stateFile, note.api)],
    ["Or offline:", `turnpike credentials${flags} --user alice`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  const headline = note.created
    ? "turnpike: no config file and no credentials given: generated a REST secret and an API key."
    : "turnpike: no config file and no credentials given: using the REST secret and API key generated earlier.";
  return [headline, ...rows.map(([label, value]) => `  ${label.padEnd(width)}${value}`)].join("\n") + "\n";
}

// What `turnpike credentials` reads besides the secret: where the state file is, the URIs' host, ports and
// transports, the TTLs and the username's separator.
const SHAPES_CREDENTIALS: ReadonlySet<keyof Config> = new Set<keyof Config>([
  "stateFile",
  "listeningIps",
  "listeningPort",
  "tlsListeningPort",
  "externalIps",
  "cert",
  "pkey",
  "noUdp",
  "noTcp",
  "noTls",
  "restUriHost",
  "restDefaultTtlSeconds",
  "restMaxTtlSeconds",
  "restApiSeparator",
]);

// Paths as start resolved them, so that the command works from any directory.
const PATHS: ReadonlySet<keyof Config> = new Set<keyof Config>(["stateFile", "cert", "pkey"]);

/** The flags among start's that shape `turnpike credentials`' answer, in their order, each as one shell-quoted word or two. */
export function credentialsFlags(startArgs: readonly string[], config: Config): string[] {
  const flags: string[] = [];
  for (const { key, value: given } of parseArgs(startArgs)) {
    const resolved = resolveKey(key);
    if (resolved?.kind !== "option" || !SHAPES_CREDENTIALS.has(resolved.option.field)) continue;
    const { field } = resolved.option;
    const value = given !== undefined && PATHS.has(field) ? String(config[field]) : given;
    if (value === undefined) flags.push(`--${key}`);
    else if (takesSeparateValue(resolved) && !value.startsWith("--")) flags.push(`--${key} ${quoteForShell(value)}`);
    else flags.push(quoteForShell(`--${key}=${value}`));
  }
  return flags;
}

/** `curl` with the key read from the state file at run time, so that the command holds no secret. */
export function formatCurlCommand(stateFile: string, api: NonNullable<CliServer["api"]>): string {
  const readKey = `node -p ${quoteForShell(`require(${JSON.stringify(stateFile)}).apiKey`)}`;
  const url = `${api.tls ? "https" : "http"}://${formatHost(reachableAddress(api.address))}:${api.port}${CREDENTIALS_PATH}?username=alice`;
  return `curl -s -H "Authorization: Bearer $(${readKey})" ${quoteForShell(url)}`;
}

/** A wildcard listening address is reached through loopback from this machine. */
function reachableAddress(address: string): string {
  if (address === "0.0.0.0") return "127.0.0.1";
  if (address === "::") return "::1";
  return address;
}

function formatHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** One shell word: as is when plainly safe, else single-quoted. */
export function quoteForShell(text: string): string {
  return /^[A-Za-z0-9_\/.,:@%+=-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
