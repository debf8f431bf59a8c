import { Writable } from "node:stream";
import { pino } from "pino";
import type { CliDeps } from "../../src/cli/run.js";
import type { Config } from "../../src/config/config.js";
import type { Logger } from "../../src/server/logger.js";
import type { ListenerInfo, RunningServer } from "../../src/server/server.js";

type StartedServer = Pick<RunningServer, "listeners" | "close">;

export interface FakeCli {
  readonly deps: CliDeps;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Parsed JSON log lines written through the injected logger. */
  readonly logs: () => Record<string, unknown>[];
  /** The configs startServer was called with. */
  readonly started: Config[];
  readonly closed: () => number;
  /** Delivers a signal to the handler runCli registered; throws if none is registered. */
  signal(name: string): void;
  readonly signalHandlers: () => number;
}

export const FAKE_LISTENERS: readonly ListenerInfo[] = [
  { transport: "udp", address: "127.0.0.1", port: 3478, family: "IPv4" },
  { transport: "tcp", address: "127.0.0.1", port: 3478, family: "IPv4" },
];

/** runCli's dependencies with memory streams, a memory logger and a fake server; `start` replaces the starter. */
export function createFakeCli(start?: (config: Config) => Promise<StartedServer>): FakeCli {
  let out = "";
  let err = "";
  let logText = "";
  let closed = 0;
  const started: Config[] = [];
  const handlers = new Set<(signal: string) => void>();
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText += chunk.toString();
      done();
    },
  });
  const deps: CliDeps = {
    async startServer(config: Config, _options: { logger: Logger }): Promise<StartedServer> {
      started.push(config);
      if (start !== undefined) return start(config);
      return {
        listeners: FAKE_LISTENERS,
        async close() {
          closed++;
        },
      };
    },
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    onSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    createLogger: (config) => pino({ level: config.logLevel }, logStream),
  };
  return {
    deps,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      logText
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    started,
    closed: () => closed,
    signal(name) {
      const [handler] = handlers;
      if (handler === undefined) throw new Error("no signal handler registered");
      handler(name);
    },
    signalHandlers: () => handlers.size,
  };
}
