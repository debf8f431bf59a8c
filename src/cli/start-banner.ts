// What `turnpike start` prints (to stdout, never through the logger) when it runs on generated credentials:
// where they are kept, and a command that fetches a credential without the key appearing in it.
import type { CliServer } from "./run.js";

/** The credential endpoint's path, as served by src/api. */
export const CREDENTIALS_PATH = "/api/v1/credentials";

export interface GeneratedCredentialsNote {
  readonly stateFile: string;
  readonly created: boolean;
  /** True when state-file was given: the printed commands must name it too. */
  readonly stateFileGiven: boolean;
  /** The endpoint's address; undefined when it is off (no-api). */
  readonly api?: CliServer["api"];
}

export function formatGeneratedCredentialsNote(note: GeneratedCredentialsNote): string {
  const stateFlag = note.stateFileGiven ? ` --state-file ${quoteForShell(note.stateFile)}` : "";
  const rows: [string, string][] = [
    ["State file:", `${note.stateFile} (keep it private)`],
    note.api === undefined ? ["Credential API:", "off (no-api)"] : ["Get a credential:", formatCurlCommand(note.stateFile, note.api)],
    ["Or offline:", `turnpike credentials${stateFlag} --user alice`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  const headline = note.created
    ? "turnpike: no config file and no credentials given: generated a REST secret and an API key."
    : "turnpike: no config file and no credentials given: using the REST secret and API key generated earlier.";
  return [headline, ...rows.map(([label, value]) => `  ${label.padEnd(width)}${value}`)].join("\n") + "\n";
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
