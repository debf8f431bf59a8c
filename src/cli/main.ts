#!/usr/bin/env node
// The `turnpike` binary: the real server, process streams and signals, wired into runCli.
// First, so that its listeners are in place before anything else loads (see process-signals.ts).
import { handleSignals } from "./process-signals.js";
import { startServer } from "../server/server.js";
import { runCli } from "./run.js";

// What `ps` and /proc/<pid>/cmdline show from now on: turnpike by name (`turnpike reload` knows it so,
// whatever node options started it), and none of its arguments, which may hold a secret.
process.title = "turnpike";

const code = await runCli(process.argv.slice(2), {
  startServer,
  stdout: process.stdout,
  stderr: process.stderr,
  onSignal(handler) {
    const listener = (signal: NodeJS.Signals): void => {
      stop();
      handler(signal);
    };
    const stop = (): void => {
      process.off("SIGINT", listener);
      process.off("SIGTERM", listener);
    };
    process.on("SIGINT", listener);
    process.on("SIGTERM", listener);
    return stop;
  },
  onDrain(handler) {
    return handleSignals(["SIGUSR1"], handler);
  },
  onReload(handler) {
    // SIGUSR2 is coturn's certificate-reload signal: a reload reads the certificates afresh.
    return handleSignals(["SIGHUP", "SIGUSR2"], handler);
  },
});
process.exit(code);
