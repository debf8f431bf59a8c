// `turnpike start`: load the config, start the server, and close it on SIGINT or SIGTERM.
import { loadConfig } from "../config/load-config.js";
import { createLogger } from "../server/logger.js";
import { formatHelp } from "./help.js";
import type { CliDeps } from "./run.js";
import { splitCommandArgs } from "./split-command-args.js";
import { readVersion } from "./version.js";

export async function runStart(args: readonly string[], deps: CliDeps): Promise<number> {
  const { file, help, optionArgs } = splitCommandArgs(args);
  if (help) {
    deps.stdout.write(formatHelp("start"));
    return 0;
  }
  const { config, warnings } = loadConfig(file === undefined ? { args: optionArgs } : { file, args: optionArgs });
  const logger = deps.createLogger === undefined ? createLogger(config) : deps.createLogger(config);
  for (const warning of warnings) logger.warn(warning);

  const server = await deps.startServer(config, { logger });
  let stop: (() => void) | undefined;
  const signal = new Promise<string>((resolve) => {
    stop = deps.onSignal(resolve);
  });
  logger.info({ version: readVersion(), configFile: file, listeners: server.listeners }, "turnpike started");

  const received = await signal;
  stop?.();
  logger.info({ signal: received }, "turnpike stopping");
  await server.close();
  logger.info("turnpike stopped");
  return 0;
}
