// `turnpike <command> ...` with its dependencies injected, so tests drive it without sockets or signals.
import type { Config } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import { findClosestMatch } from "../config/closest-match.js";
import { isNearKnownKey, resolveKey, showUnknownKey } from "../config/resolve-key.js";
import type { Logger } from "../server/logger.js";
import type { ListenerInfo } from "../server/server.js";
import { runCheckConfig } from "./check-config-command.js";
import { COMMANDS, isCommandName } from "./commands.js";
import { runCredentials } from "./credentials-command.js";
import { formatHelp } from "./help.js";
import { runDrain, runReload } from "./signal-command.js";
import { runStart } from "./start-command.js";
import { UsageError } from "./usage-error.js";
import { readVersion } from "./version.js";

export interface CliOutput {
  write(text: string): unknown;
}

/** What the CLI needs of the running server; the server's RunningServer provides it. */
export interface CliServer {
  readonly listeners: readonly ListenerInfo[];
  /** Where the credential endpoint listens; absent with no-api. */
  readonly api?: { readonly address: string; readonly port: number; readonly tls: boolean };
  /** Applies a configuration reloaded on SIGHUP; rejects when the server cannot apply it (the old one stays). */
  reload(config: Config): Promise<void>;
  /** Starts draining (SIGUSR1); absent in servers that cannot drain. */
  drain?(): Promise<void>;
  /** Settles when a drain, however started, has finished: the process then stops. */
  readonly drained?: Promise<void>;
  /** Settles, with why, when the server can no longer serve: the process then stops with exit code 1. */
  readonly failed?: Promise<string>;
  close(): Promise<void>;
}

export interface CliDeps {
  /** The server's startServer. */
  readonly startServer: (config: Config, options: { logger: Logger }) => Promise<CliServer>;
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  /** Calls `handler` on the first SIGINT or SIGTERM; returns a function that stops listening. */
  readonly onSignal: (handler: (signal: string) => void) => () => void;
  /** Calls `handler` on every SIGHUP (and SIGUSR2) until the returned function is called. */
  readonly onReload: (handler: () => void) => () => void;
  /** Calls `handler` on SIGUSR1 (drain) until the returned function is called. */
  readonly onDrain?: (handler: () => void) => () => void;
  /** Builds the logger from the loaded config; by default createLogger (stdout, or log-file). */
  readonly createLogger?: (config: Config) => Logger;
  /** Environment for the default state-file location (XDG_STATE_HOME); process.env by default. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The home directory for the default state-file location; os.homedir() by default. */
  readonly homedir?: () => string;
  /** This process's id, written to the pidfile; process.pid by default. */
  readonly pid?: number;
  /** Sends a signal (`turnpike reload`); process.kill by default. */
  readonly kill?: (pid: number, signal: NodeJS.Signals) => void;
  /** A process's command line (`turnpike reload` checks whom it signals, `start` whose its pidfile is); /proc/<pid>/cmdline by default, undefined where unknown. */
  readonly commandLineOf?: (pid: number) => readonly string[] | undefined;
  /** Milliseconds since the epoch, for `turnpike credentials`; Date.now by default. */
  readonly now?: () => number;
  /** The machine's name, the last resort for the host in URIs; os.hostname by default. */
  readonly hostname?: () => string;
}

export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;

/** Runs one command line (without the node and script arguments) and resolves to the process exit code. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  try {
    return await dispatch(argv, deps);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      deps.stderr.write(`turnpike: ${error.message}\n`);
      return ExitCode.Usage;
    }
    // The server's StartupError (port in use, unreadable cert), a StateFileError, a failed reload, anything else: one line, exit 1.
    const message = error instanceof Error ? error.message : String(error);
    deps.stderr.write(`turnpike: ${message}\n`);
    return ExitCode.Failure;
  }
}

async function dispatch(argv: readonly string[], deps: CliDeps): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command (try "turnpike start", or "turnpike --help")');
  if (first === "-h" || first === "--help") return print(deps.stdout, formatHelp());
  if (first === "-V" || first === "--version") return print(deps.stdout, `${readVersion()}\n`);
  if (first === "help") return runHelp(rest, deps);
  if (first === "start") return runStart(rest, deps);
  if (first === "check-config") return runCheckConfig(rest, deps);
  if (first === "credentials") return runCredentials(rest, deps);
  if (first === "reload") return runReload(rest, deps);
  if (first === "drain") return runDrain(rest, deps);
  throw new UsageError(describeUnknownCommand(first));
}

function runHelp(args: readonly string[], deps: CliDeps): number {
  const [topic, extra] = args;
  // Not echoed: it may be a secret.
  if (extra !== undefined) throw new UsageError(`unexpected argument after "help ${topic ?? ""}": help takes one command name`);
  if (topic === undefined) return print(deps.stdout, formatHelp());
  if (!isCommandName(topic)) throw new UsageError(describeUnknownCommand(topic));
  return print(deps.stdout, formatHelp(topic));
}

// A word that is close to no name may be a secret given where a command was expected: not shown.
const UNSHOWN_WORD = 'unexpected first argument (not shown: it is close to no command or option name and may be a secret); try "turnpike --help"';

function describeUnknownCommand(name: string): string {
  // Never echo what follows "=": it may be a secret (--static-auth-secret=...).
  const equals = name.indexOf("=");
  const flag = equals === -1 ? name : name.slice(0, equals);
  const shown = equals === -1 ? name : `${flag}=…`;
  if (flag.startsWith("--") && resolveKey(flag.slice(2)) !== undefined) {
    return `missing command before ${shown} (as in "turnpike start ${flag} ...")`;
  }
  if (flag.startsWith("-")) {
    const match = findClosestMatch(flag, ["--help", "--version"]);
    const dashes = flag.startsWith("--") ? "--" : "-";
    // A single-dash word may be a secret that starts with "-", as after a command (parseArgs).
    if (dashes === "-" && match === undefined && !isNearKnownKey(flag.slice(1))) return UNSHOWN_WORD;
    // Nor a value glued to an option's name (--static-auth-secretS3cr3t).
    const key = showUnknownKey(flag.slice(dashes.length));
    return `unknown option "${key.endsWith("…") ? `${dashes}${key}` : shown}"${match === undefined ? "" : ` (did you mean "${match}"?)`}`;
  }
  if (equals !== -1 && resolveKey(flag) !== undefined) return `missing command before ${shown} (as in "turnpike start --${flag}=...")`;
  const match = findClosestMatch(flag, Object.keys(COMMANDS));
  if (match === undefined && !isNearKnownKey(flag) && NOT_A_WORD.test(flag)) return UNSHOWN_WORD;
  // An option's name without its dashes, a value glued to it (static-auth-secretS3cr3t): the name alone.
  const key = showUnknownKey(flag);
  const word = key.endsWith("…") ? key : shown;
  return `unknown command "${word}"${match === undefined ? ' (try "turnpike --help")' : ` (did you mean "${match}"?)`}`;
}

// Characters no command or option name has.
const NOT_A_WORD = /[^A-Za-z0-9_-]/;

function print(output: CliOutput, text: string): number {
  output.write(text);
  return ExitCode.Ok;
}
