import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach } from "vitest";
import type { CliDeps, CliServer } from "../../src/cli/run.js";
import type { Config } from "../../src/config/config.js";
import type { Logger } from "../../src/server/logger.js";
import type { ListenerInfo } from "../../src/server/server.js";

export interface FakeCli {
  readonly deps: CliDeps;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Parsed JSON log lines written through the injected logger. */
  readonly logs: () => Record<string, unknown>[];
  /** The configs startServer was called with. */
  readonly started: Config[];
  /** The configs the fake server's reload was called with. */
  readonly reloaded: Config[];
  readonly closed: () => number;
  /** Delivers a signal to the handler runCli registered; throws if none is registered. */
  signal(name: string): void;
  readonly signalHandlers: () => number;
  /** Delivers SIGHUP to the reload handlers; throws if none is registered. */
  hangUp(): void;
  readonly reloadHandlers: () => number;
  /** The signals sent through `kill`, as [pid, signal]. */
  readonly killed: [number, string][];
  /** The directory XDG_STATE_HOME points at: the default state file is `<stateHome>/turnpike/state.json`. */
  readonly stateHome: string;
}

export interface FakeCliOptions {
  /** Replaces the fake server's start. */
  readonly start?: (config: Config) => Promise<CliServer>;
  /** Replaces the fake server's reload (which records the config and resolves). */
  readonly reload?: (config: Config) => Promise<void>;
  /** What the fake server reports as its credential endpoint. */
  readonly api?: CliServer["api"];
  /** Replaces the fake kill (which records and succeeds). */
  readonly kill?: (pid: number, signal: NodeJS.Signals) => void;
  /** Replaces the fake command line of every process (a turnpike start). */
  readonly commandLineOf?: (pid: number) => readonly string[] | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly pid?: number;
  readonly now?: () => number;
  readonly hostname?: () => string;
}

export const FAKE_LISTENERS: readonly ListenerInfo[] = [
  { transport: "udp", address: "127.0.0.1", port: 3478, family: "IPv4" },
  { transport: "tcp", address: "127.0.0.1", port: 3478, family: "IPv4" },
];

export const FAKE_PID = 424242;

// Every fake's state home, removed after each test: no test writes into the real home directory.
const stateHomes: string[] = [];
afterEach(() => {
  for (const directory of stateHomes.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/** runCli's dependencies with memory streams, a memory logger, a fake server and signals, and a private state home. */
export function createFakeCli(options: FakeCliOptions = {}): FakeCli {
  let out = "";
  let err = "";
  let logText = "";
  let closed = 0;
  const started: Config[] = [];
  const reloaded: Config[] = [];
  const killed: [number, string][] = [];
  const handlers = new Set<(signal: string) => void>();
  const reloadHandlers = new Set<() => void>();
  const stateHome = mkdtempSync(join(tmpdir(), "turnpike-cli-"));
  stateHomes.push(stateHome);
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText += chunk.toString();
      done();
    },
  });
  const deps: CliDeps = {
    async startServer(config: Config, _options: { logger: Logger }): Promise<CliServer> {
      started.push(config);
      if (options.start !== undefined) return options.start(config);
      return {
        listeners: FAKE_LISTENERS,
        ...(options.api === undefined ? {} : { api: options.api }),
        async reload(next) {
          reloaded.push(next);
          await options.reload?.(next);
        },
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
    onReload(handler) {
      reloadHandlers.add(handler);
      return () => reloadHandlers.delete(handler);
    },
    createLogger: (config) => pino({ level: config.logLevel }, logStream),
    env: options.env ?? { XDG_STATE_HOME: stateHome },
    homedir: () => join(stateHome, "home"),
    pid: options.pid ?? FAKE_PID,
    kill:
      options.kill ??
      ((pid, signal) => {
        killed.push([pid, signal]);
      }),
    commandLineOf: options.commandLineOf ?? (() => ["node", "/opt/turnpike/dist/cli/main.js", "start"]),
    now: options.now ?? (() => Date.UTC(2026, 0, 1)),
    hostname: options.hostname ?? (() => "turn-host.example"),
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
    reloaded,
    closed: () => closed,
    signal(name) {
      const [handler] = handlers;
      if (handler === undefined) throw new Error("no signal handler registered");
      handler(name);
    },
    signalHandlers: () => handlers.size,
    hangUp() {
      if (reloadHandlers.size === 0) throw new Error("no reload handler registered");
      for (const handler of reloadHandlers) handler();
    },
    reloadHandlers: () => reloadHandlers.size,
    killed,
    stateHome,
  };
}
