#!/usr/bin/env node
// The `turnpike` binary: the real server, process streams and signals, wired into runCli.
import { startServer } from "../server/server.js";
import { runCli } from "./run.js";

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
    const listener = (): void => handler();
    process.on("SIGUSR1", listener);
    return () => process.off("SIGUSR1", listener);
  },
  onReload(handler) {
    // While this listener is installed, SIGHUP reloads instead of ending the process; so does
    // SIGUSR2, coturn's certificate-reload signal (a reload reads the certificates afresh).
    const listener = (): void => handler();
    process.on("SIGHUP", listener);
    process.on("SIGUSR2", listener);
    return () => {
      process.off("SIGHUP", listener);
      process.off("SIGUSR2", listener);
    };
  },
});
process.exit(code);
