// `turnpike reload`: validate the configuration as start would load it, then SIGHUP the process in the pidfile.
import { loadConfig } from "../config/load-config.js";
import { pidfileNextTo } from "../server/state-file.js";
import { formatHelp } from "./help.js";
import { readPidfile } from "./pidfile.js";
import type { CliDeps } from "./run.js";
import { splitCommandArgs } from "./split-command-args.js";
import { stateFilePathOf } from "./start-config.js";

export async function runReload(args: readonly string[], deps: CliDeps): Promise<number> {
  const { file, help, optionArgs } = splitCommandArgs(args);
  if (help) {
    deps.stdout.write(formatHelp("reload"));
    return 0;
  }
  // A configuration the server would refuse is reported here, with its file and line, and nothing is signalled.
  const { config, warnings } = loadConfig(file === undefined ? { args: optionArgs } : { file, args: optionArgs });
  for (const warning of warnings) deps.stderr.write(`turnpike: warning: ${warning}\n`);
  // Without a config file, start with generated credentials writes its pidfile next to the state file.
  const pidfile = config.pidfile ?? (file === undefined ? pidfileNextTo(stateFilePathOf(config, deps)) : undefined);
  if (pidfile === undefined) {
    throw new Error(`no pidfile to find turnpike by: set pidfile in ${file ?? "the config file"} (turnpike start writes it), or give --pidfile`);
  }
  const pid = await readPidfile(pidfile);
  try {
    (deps.kill ?? process.kill)(pid, "SIGHUP");
  } catch (error) {
    const code = error instanceof Error && "code" in error ? error.code : undefined;
    if (code === "ESRCH") throw new Error(`turnpike is not running: no process ${pid}, as pidfile ${pidfile} says (a stale pidfile?)`, { cause: error });
    if (code === "EPERM") throw new Error(`not permitted to signal process ${pid} from pidfile ${pidfile}: run reload as the user turnpike runs as`, { cause: error });
    throw error;
  }
  deps.stdout.write(`turnpike: sent SIGHUP to process ${pid} (from ${pidfile}); the server logs whether the reload took\n`);
  return 0;
}
