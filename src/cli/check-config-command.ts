// `turnpike check-config`: load and validate exactly as start would, then report.
import { loadConfig } from "../config/load-config.js";
import { formatHelp } from "./help.js";
import type { CliDeps } from "./run.js";
import { splitCommandArgs } from "./split-command-args.js";

export function runCheckConfig(args: readonly string[], deps: Pick<CliDeps, "stdout" | "stderr">): number {
  const { file, help, optionArgs } = splitCommandArgs(args);
  if (help) {
    deps.stdout.write(formatHelp("check-config"));
    return 0;
  }
  const { warnings } = loadConfig(file === undefined ? { args: optionArgs, writableFiles: true } : { file, args: optionArgs, writableFiles: true });
  for (const warning of warnings) deps.stderr.write(`turnpike: warning: ${warning}\n`);
  deps.stdout.write("config OK\n");
  return 0;
}
