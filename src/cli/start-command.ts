// `turnpike start`: load the config, start the server, write the pidfile, reload on SIGHUP, and close on SIGINT or SIGTERM.
import { createLogger, reopenLogFile, type Logger } from "../server/logger.js";
import { formatHelp } from "./help.js";
import { assertPidfileFree, procCommandLine, removePidfile, writePidfile } from "./pidfile.js";
import type { CliDeps, CliServer } from "./run.js";
import { splitCommandArgs } from "./split-command-args.js";
import { credentialsFlags, formatGeneratedCredentialsNote } from "./start-banner.js";
import { loadStartConfig } from "./start-config.js";
import { readVersion } from "./version.js";

export async function runStart(args: readonly string[], deps: CliDeps): Promise<number> {
  const { file, help, optionArgs } = splitCommandArgs(args);
  if (help) {
    deps.stdout.write(formatHelp("start"));
    return 0;
  }
  const start = await loadStartConfig(file, optionArgs, deps);
  const { config } = start;
  const pid = deps.pid ?? process.pid;
  if (config.pidfile !== undefined) await assertPidfileFree(config.pidfile, pid, deps.commandLineOf ?? procCommandLine);
  const logger = deps.createLogger === undefined ? createLogger(config) : deps.createLogger(config);
  for (const warning of start.warnings) logger.warn(warning);

  const server = await deps.startServer(config, { logger });
  let failed = false;
  let stopSignals: (() => void) | undefined;
  const signal = new Promise<string>((resolve) => {
    stopSignals = deps.onSignal(resolve);
  });
  // One reload at a time, in the order the signals came.
  let reloading = Promise.resolve();
  const stopReloads = deps.onReload(() => {
    reloading = reloading.then(() => reloadConfig(server, file, optionArgs, deps, logger));
  });
  const stopDrains = deps.onDrain?.(() => {
    if (server.drain) void server.drain();
  });
  try {
    // Written once SIGHUP is handled: `turnpike reload` must never reach a process that SIGHUP would kill.
    if (config.pidfile !== undefined) await writePidfile(config.pidfile, pid);
    logger.info(
      {
        version: readVersion(),
        configFile: file,
        listeners: server.listeners,
        api: server.api,
        pidfile: config.pidfile,
        stateFile: start.generated?.stateFile,
      },
      "turnpike started",
    );
    if (start.generated !== undefined) {
      // stdout, not the log: it points at the secrets, and the operator at the terminal is who needs it.
      deps.stdout.write(
        formatGeneratedCredentialsNote({
          stateFile: start.generated.stateFile,
          created: start.generated.created,
          credentialsFlags: credentialsFlags(optionArgs, config),
          api: server.api ?? (config.noApi ? undefined : { address: config.apiListeningIp, port: config.apiListeningPort, tls: config.apiCert !== undefined }),
        }),
      );
    }
    // SIGINT/SIGTERM, the end of a drain however it was started (SIGUSR1, turnpike drain, the API), or a failure.
    const stops: Promise<{ signal: string } | { failure: string }>[] = [signal.then((name) => ({ signal: name }))];
    if (server.drained) stops.push(server.drained.then(() => ({ signal: "drained" })));
    if (server.failed) stops.push(server.failed.then((failure) => ({ failure })));
    const stop = await Promise.race(stops);
    if ("failure" in stop) {
      // Exit 1: a supervisor (systemd Restart=on-failure, a container's restart policy) starts it afresh.
      logger.error({ reason: stop.failure }, "turnpike stopping: it can no longer serve");
      failed = true;
    } else {
      logger.info({ signal: stop.signal }, "turnpike stopping");
    }
  } finally {
    stopSignals?.();
    stopReloads();
    stopDrains?.();
    await reloading;
    await server.close();
    if (config.pidfile !== undefined) await removePidfile(config.pidfile, pid);
  }
  logger.info("turnpike stopped");
  return failed ? 1 : 0;
}

/** SIGHUP: log-file reopened; the same file and flags, loaded afresh; whatever goes wrong is logged and the running configuration stays. */
async function reloadConfig(server: CliServer, file: string | undefined, args: readonly string[], deps: CliDeps, logger: Logger): Promise<void> {
  // logrotate's move-then-signal: the lines from here on go to a new log-file of the same name.
  reopenLogFile(logger);
  logger.info({ configFile: file }, "reloading configuration");
  let next;
  try {
    next = await loadStartConfig(file, args, deps, "reload");
  } catch (error) {
    logger.error({ reason: messageOf(error) }, "reload refused; the running configuration stays");
    return;
  }
  for (const warning of next.warnings) logger.warn(warning);
  try {
    await server.reload(next.config);
  } catch (error) {
    logger.error({ reason: messageOf(error) }, "reload failed; the running configuration stays");
    return;
  }
  logger.info({ configFile: file }, "reload applied");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
