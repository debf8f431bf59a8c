// Help text, generated from the option table so that it cannot drift from what the parser accepts.
import { DEFAULT_CONFIG } from "../config/config.js";
import { OPTIONS, type OptionSpec } from "../config/options.js";
import { COMMANDS, type CommandName } from "./commands.js";

const USAGE: Readonly<Record<Exclude<CommandName, "help">, string>> = {
  start: "turnpike start [-c FILE] [--KEY VALUE | --KEY=VALUE | --FLAG ...]",
  "check-config": "turnpike check-config [-c FILE] [--KEY VALUE | --KEY=VALUE | --FLAG ...]",
  credentials: "turnpike credentials [--user NAME] [--ttl SECONDS] [-c FILE] [--KEY VALUE | --KEY=VALUE | --FLAG ...]",
  reload: "turnpike reload [-c FILE] [--pidfile FILE] [--KEY VALUE | --KEY=VALUE | --FLAG ...]",
  drain: "turnpike drain [-c FILE] [--pidfile FILE] [--KEY VALUE | --KEY=VALUE | --FLAG ...]",
};

const CREDENTIALS_OPTIONS: readonly (readonly [string, string])[] = [
  ["--user <name>", 'The application user the credential is for, after "<expiry>:" (not the static-user option here).'],
  ["--ttl <seconds>", "Seconds the credential is valid (default: rest-default-ttl; at most rest-max-ttl)."],
];

const CREDENTIALS_NOTES: readonly string[] = [
  "The credential is signed with the first static-auth-secret (unless use-auth-secret=false). Without -c FILE, and",
  "without a user, a static-auth-secret or an api-key given as flags, it is signed with the secret",
  "turnpike start generated in the state file: the one a server started with the same flags uses.",
];

export function formatHelp(command?: CommandName): string {
  if (command === "help") return "Usage: turnpike help [command]\n\n" + COMMANDS.help + "\n";
  const lines: string[] = [];
  if (command === undefined) {
    lines.push("Usage: turnpike <command> [options]", "", "Commands:");
    lines.push(...formatColumns(Object.entries(COMMANDS).map(([name, doc]) => [name === "help" ? "help [command]" : name, doc])));
    lines.push("", "Global options:");
    lines.push(...formatColumns([["-h, --help", "Show help."], ["-V, --version", "Print the version."]]), "");
  } else {
    lines.push(`Usage: ${USAGE[command]}`, "", COMMANDS[command], "");
  }
  if (command === undefined || command === "credentials") {
    lines.push("Options of credentials:", ...formatColumns(CREDENTIALS_OPTIONS), ...CREDENTIALS_NOTES.map((line) => `  ${line}`), "");
  }
  lines.push("Options of start, check-config, credentials, reload and drain:");
  lines.push(
    ...formatColumns([
      ["-c, --config <file>", "coturn-style configuration file, such as turnserver.conf."],
      ...OPTIONS.map((option): [string, string] => [`--${option.key}${placeholderOf(option)}`, describeOption(option)]),
    ]),
  );
  lines.push(
    "",
    "In the conf file write KEY=VALUE, KEY VALUE or a bare FLAG, one a line. On the command line write",
    "--KEY VALUE, --KEY=VALUE or --FLAG; --FLAG=false turns off an on/off flag the file sets (a flag that",
    "stands for a value, such as verbose for log-level=debug, takes none: give that option instead). The",
    "command line wins, and a repeatable option given there replaces the file's list. coturn's other",
    "options are accepted and ignored, with one warning naming them.",
  );
  return lines.join("\n") + "\n";
}

/** ` <port>` for a value; `[=<seconds>]` for a flag with an optional value (stale-nonce); "" for a plain flag. */
function placeholderOf(option: OptionSpec): string {
  if (option.parser.kind === "value") return ` ${option.parser.placeholder}`;
  return option.parser.kind === "flag" ? option.parser.placeholder : "";
}

export function describeOption(option: OptionSpec): string {
  const notes: string[] = [];
  const fallback = defaultOf(option);
  if (fallback !== undefined) notes.push(`default: ${fallback}`);
  if (option.repeatable) notes.push("repeatable");
  return notes.length === 0 ? option.doc : `${option.doc} (${notes.join("; ")})`;
}

/**
 * The default as help shows it; undefined for presets and on/off flags, whose default is simply "not given".
 * A flag with an optional value (stale-nonce) shows its number.
 */
export function defaultOf(option: OptionSpec): string | undefined {
  if (option.parser.kind === "preset") return undefined;
  if (option.defaultText !== undefined) return option.defaultText;
  const value: unknown = DEFAULT_CONFIG[option.field];
  return value === undefined || typeof value === "boolean" ? undefined : String(value);
}

function formatColumns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`);
}
