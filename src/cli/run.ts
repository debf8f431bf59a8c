// `turnpike <command> ...` with its dependencies injected, so tests drive it without sockets or signals.
import type { Config } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import { findClosestMatch } from "../config/closest-match.js";
import { resolveKey } from "../config/resolve-key.js";
import type { Logger } from "../server/logger.js";
import type { RunningServer } from "../server/server.js";
import { runCheckConfig } from "./check-config-command.js";
import { COMMANDS, isCommandName } from "./commands.js";
import { formatHelp } from "./help.js";
import { runStart } from "./start-command.js";
import { UsageError } from "./usage-error.js";
import { readVersion } from "./version.js";

export interface CliOutput {
  write(text: string): unknown;
}

export interface CliDeps {
  /** The server's startServer; the CLI needs only the listeners (to log them) and close(). */
  readonly startServer: (config: Config, options: { logger: Logger }) => Promise<Pick<RunningServer, "listeners" | "close">>;
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  /** Calls `handler` on the first SIGINT or SIGTERM; returns a function that stops listening. */
  readonly onSignal: (handler: (signal: string) => void) => () => void;
  /** Builds the logger from the loaded config; by default createLogger (stdout, or log-file). */
  readonly createLogger?: (config: Config) => Logger;
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
    // The server's StartupError (port in use, unreadable cert) and anything else: one line, exit 1.
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
  throw new UsageError(describeUnknownCommand(first));
}

function runHelp(args: readonly string[], deps: CliDeps): number {
  const [topic, extra] = args;
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)} after help ${topic ?? ""}`);
  if (topic === undefined) return print(deps.stdout, formatHelp());
  if (!isCommandName(topic)) throw new UsageError(describeUnknownCommand(topic));
  return print(deps.stdout, formatHelp(topic));
}

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
    return `unknown option "${shown}"${match === undefined ? "" : ` (did you mean "${match}"?)`}`;
  }
  const match = findClosestMatch(name, Object.keys(COMMANDS));
  return `unknown command "${name}"${match === undefined ? ' (try "turnpike --help")' : ` (did you mean "${match}"?)`}`;
}

function print(output: CliOutput, text: string): number {
  output.write(text);
  return ExitCode.Ok;
}
