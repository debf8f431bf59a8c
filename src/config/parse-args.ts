// Command-line options: `--key value`, `--key=value`, a bare `--flag`, or `--flag=false` to undo the file's flag.
import { ConfigError } from "./config-error.js";
import type { ConfigEntry } from "./parse-file.js";
import { describeUnknownKey, isNearKnownKey, resolveKey, showUnknownKey, takesSeparateValue, type ResolvedKey } from "./resolve-key.js";

const COMMAND_LINE = { commandLine: true } as const;

/** The option before a stray argument, to say where it is without showing it. */
interface Previous {
  readonly key: string;
  readonly resolved: ResolvedKey;
  /** "inline": `--key=value`; "separate": `--key value`; "none": bare. */
  readonly value: "inline" | "separate" | "none";
}

export function parseArgs(args: readonly string[]): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  let previous: Previous | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-" || arg === "--") throw new ConfigError(`unexpected argument "${arg}"`, COMMAND_LINE);
    if (!arg.startsWith("-")) throw new ConfigError(describeStray(arg, previous), COMMAND_LINE);
    const dashes = arg.startsWith("--") ? "--" : "-";
    const body = arg.slice(dashes.length);
    const equals = body.indexOf("=");
    const key = equals === -1 ? body : body.slice(0, equals);
    const resolved = resolveKey(key);
    // A single-dash word that names nothing may be a secret that starts with "-": shown only when it is close to a name.
    if (resolved === undefined && dashes === "-" && key.length > 1 && !isNearKnownKey(key)) {
      throw new ConfigError(describeStray(arg, previous), COMMAND_LINE);
    }
    if (resolved === undefined || dashes !== "--") {
      throw new ConfigError(describeUnknownKey(key, dashes), { ...COMMAND_LINE, key: showUnknownKey(key) });
    }
    if (equals !== -1) {
      entries.push({ key, value: body.slice(equals + 1) });
      previous = { key, resolved, value: "inline" };
      continue;
    }
    if (!takesSeparateValue(resolved)) {
      entries.push({ key, value: undefined });
      previous = { key, resolved, value: "none" };
      continue;
    }
    // A value may start with "-" (log-file -) but not with "--": that is the next option, so this one has none.
    const next = args[i + 1];
    if (next === undefined || next.startsWith("--")) {
      const placeholder = resolved.kind === "option" ? ` (${resolved.option.parser.placeholder})` : "";
      throw new ConfigError(`--${key} needs a value${placeholder}`, { ...COMMAND_LINE, key });
    }
    entries.push({ key, value: next });
    previous = { key, resolved, value: "separate" };
    i++;
  }
  return entries;
}

/**
 * A stray argument is never shown: it may be a secret (`--static-auth-secret S1 S2`, `static-auth-secret=S`).
 * Says where it is, and what an option looks like.
 */
function describeStray(arg: string, previous: Previous | undefined): string {
  const where =
    previous === undefined
      ? "before the first option"
      : previous.value === "separate"
        ? `after --${previous.key} and its value`
        : previous.value === "inline"
          ? `after --${previous.key}=…`
          : `after --${previous.key}, ${describeBare(previous)}`;
  // `static-auth-secret=…` or `realm`: an option name without its dashes.
  const name = /^[A-Za-z0-9_-]+/.exec(arg)?.[0];
  const glued = name !== undefined && arg.length > name.length ? arg.charAt(name.length) : "";
  const hint = name !== undefined && (glued === "" || glued === "=") && resolveKey(name) !== undefined ? ` (did you mean "--${name}${glued === "=" ? "=…" : ""}"?)` : "";
  return `unexpected argument ${where}, not shown as it may be a secret; options are --key value, --key=value or a bare --flag${hint}`;
}

function describeBare(previous: Previous): string {
  const optional = previous.resolved.kind === "option" && previous.resolved.option.parser.placeholder.startsWith("[=");
  return optional ? `which takes its value only after "=" (--${previous.key}=<value>)` : "which takes no value";
}
