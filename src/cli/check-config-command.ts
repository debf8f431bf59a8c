// `turnpike check-config`: load and validate exactly as start would, then report.
import { loadConfig } from "../config/load-config.js";
import { readStateFile } from "../server/state-file.js";
import { describeUnservedRequests } from "../config/service-warnings.js";
import { formatHelp } from "./help.js";
import type { CliDeps } from "./run.js";
import { splitCommandArgs } from "./split-command-args.js";
import { stateFilePathOf, usesGeneratedCredentials, warningsWithGeneratedCredentials } from "./start-config.js";

export async function runCheckConfig(args: readonly string[], deps: Pick<CliDeps, "stdout" | "stderr" | "env" | "homedir">): Promise<number> {
  const { file, help, optionArgs } = splitCommandArgs(args);
  if (help) {
    deps.stdout.write(formatHelp("check-config"));
    return 0;
  }
  const { config, warnings } = loadConfig(file === undefined ? { args: optionArgs, writableFiles: true } : { file, args: optionArgs, writableFiles: true });
  // As start would say them; with no config and no credentials, start generates both instead.
  const generated = usesGeneratedCredentials(file, config);
  const stateFile = generated ? stateFilePathOf(config, deps) : undefined;
  // Read, never created: a damaged or exposed state file fails here as it would fail start (StateFileError, exit 1).
  if (stateFile !== undefined) await readStateFile(stateFile);
  const shown = stateFile !== undefined ? warningsWithGeneratedCredentials(config, warnings, stateFile) : [...warnings, ...describeUnservedRequests(config)];
  for (const warning of shown) deps.stderr.write(`turnpike: warning: ${warning}\n`);
  deps.stdout.write("config OK\n");
  return 0;
}
