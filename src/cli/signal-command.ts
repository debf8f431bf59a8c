// `turnpike reload` and `turnpike drain`: validate the configuration as start would load it, then
// signal the process in the pidfile: SIGHUP reloads, SIGUSR1 drains.
import { loadConfig } from "../config/load-config.js";
import { pidfileNextTo } from "../server/state-file.js";
import { formatHelp } from "./help.js";
import { isTurnpike, procCommandLine, programName, readPidfile } from "./pidfile.js";
import type { CliDeps } from "./run.js";
import { splitCommandArgs } from "./split-command-args.js";
import { stateFilePathOf } from "./start-config.js";

export function runReload(args: readonly string[], deps: CliDeps): Promise<number> {
  return signalServer("reload", "SIGHUP", "the server logs whether the reload took", args, deps);
}

export function runDrain(args: readonly string[], deps: CliDeps): Promise<number> {
  return signalServer("drain", "SIGUSR1", "it takes no new allocations and exits when the last one ends or drain-grace passes", args, deps);
}

async function signalServer(
  command: "reload" | "drain",
  signal: NodeJS.Signals,
  outcome: string,
  args: readonly string[],
  deps: CliDeps,
): Promise<number> {
  const { file, help, optionArgs } = splitCommandArgs(args);
  if (help) {
    deps.stdout.write(formatHelp(command));
    return 0;
  }
  // A configuration the server would refuse is reported here, with its file and line, and nothing is signalled.
  // As the reload itself: log-file and pidfile are the running server's, not checked (a log-file path
  // logrotate left odd must not keep a secret's rotation from being signalled).
  const { config, warnings } = loadConfig(file === undefined ? { args: optionArgs, forReload: true } : { file, args: optionArgs, forReload: true });
  for (const warning of warnings) deps.stderr.write(`turnpike: warning: ${warning}\n`);
  // Without a config file, start with generated credentials writes its pidfile next to the state file.
  const pidfile = config.pidfile ?? (file === undefined ? pidfileNextTo(stateFilePathOf(config, deps)) : undefined);
  if (pidfile === undefined) {
    throw new Error(`no pidfile to find turnpike by: set pidfile in ${file ?? "the config file"} (turnpike start writes it), or give --pidfile`);
  }
  const pid = await readPidfile(pidfile);
  // A pidfile left behind by a crash may name a process that has since taken the number.
  const commandLine = (deps.commandLineOf ?? procCommandLine)(pid);
  if (commandLine !== undefined && !isTurnpike(commandLine)) {
    throw new Error(
      `process ${pid} from pidfile ${pidfile} is not turnpike (it runs ${programName(commandLine)}); ` +
        "a stale pidfile? Nothing was signalled",
    );
  }
  try {
    (deps.kill ?? process.kill)(pid, signal);
  } catch (error) {
    const code = error instanceof Error && "code" in error ? error.code : undefined;
    if (code === "ESRCH") throw new Error(`turnpike is not running: no process ${pid}, as pidfile ${pidfile} says (a stale pidfile?)`, { cause: error });
    if (code === "EPERM") throw new Error(`not permitted to signal process ${pid} from pidfile ${pidfile}: run ${command} as the user turnpike runs as`, { cause: error });
    throw error;
  }
  deps.stdout.write(`turnpike: sent ${signal} to process ${pid} (from ${pidfile}); ${outcome}\n`);
  return 0;
}
