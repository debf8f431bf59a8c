// Command-line options: `--key value`, `--key=value`, a bare `--flag`, or `--flag=false` to undo the file's flag.
import { ConfigError } from "./config-error.js";
import type { ConfigEntry } from "./parse-file.js";
import { describeUnknownKey, resolveKey, showUnknownKey, takesSeparateValue } from "./resolve-key.js";

const COMMAND_LINE = { commandLine: true } as const;

export function parseArgs(args: readonly string[]): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`, COMMAND_LINE);
    }
    const dashes = arg.startsWith("--") ? "--" : "-";
    const body = arg.slice(dashes.length);
    const equals = body.indexOf("=");
    const key = equals === -1 ? body : body.slice(0, equals);
    const resolved = resolveKey(key);
    if (resolved === undefined || dashes !== "--") {
      throw new ConfigError(describeUnknownKey(key, dashes), { ...COMMAND_LINE, key: showUnknownKey(key) });
    }
    if (equals !== -1) {
      entries.push({ key, value: body.slice(equals + 1) });
      continue;
    }
    if (!takesSeparateValue(resolved)) {
      entries.push({ key, value: undefined });
      continue;
    }
    // A value may start with "-" (log-file -) but not with "--": that is the next option, so this one has none.
    const next = args[i + 1];
    if (next === undefined || next.startsWith("--")) {
      const placeholder = resolved.kind === "option" ? ` (${resolved.option.parser.placeholder})` : "";
      throw new ConfigError(`--${key} needs a value${placeholder}`, { ...COMMAND_LINE, key });
    }
    entries.push({ key, value: next });
    i++;
  }
  return entries;
}
