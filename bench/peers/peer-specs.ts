// The servers compared, each with equivalent settings: loopback only, one static user bench:bench in
// realm "bench", long-term credentials, loopback peers allowed, relay ports from the same range,
// channel numbers up to 0x7FFF (uclient picks them), quotas out of the way.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROJECT_ROOT } from "../paths.js";
import type { LaunchSpec } from "./server-process.js";

export type PeerId = "turnpike" | "coturn" | "node-turn" | "bare";
export const PEER_IDS: readonly PeerId[] = ["turnpike", "coturn", "node-turn", "bare"];

export const BENCH_CREDENTIALS = { username: "bench", password: "bench" } as const;
export const BENCH_REALM = "bench";
const BENCH_USER = `${BENCH_CREDENTIALS.username}:${BENCH_CREDENTIALS.password}`;
/** The memory figure holds 10,000 allocations for one user; turnpike's default quotas would refuse them. */
const QUOTA = 20_000;

export interface LaunchContext {
  readonly host: string;
  readonly port: number;
  readonly minPort: number;
  readonly maxPort: number;
  readonly peer: { readonly host: string; readonly port: number };
  readonly tempDir: string;
}

export interface PeerVariant {
  readonly id: PeerId;
  /** Unique per row. */
  readonly key: string;
  readonly label: string;
  /** Why there are no numbers; undefined when it can run. */
  readonly unavailable: string | undefined;
  readonly speaksTurn: boolean;
  readonly tcp: boolean;
  /** How the generator's UDP load reaches the peer through it. */
  readonly dataPath: "channel" | "send" | "raw";
  /** Why this server's figures are not like the others', for a footnote. */
  readonly caveat?: string;
  /** A problem visible in the server's own output after it started, if any. */
  checkStartLog?(log: string): string | undefined;
  launch(context: LaunchContext): LaunchSpec;
}

const TURNPIKE_MAIN = join(PROJECT_ROOT, "dist", "cli", "main.js");
const SCRIPTS = new URL("./", import.meta.url);
const HEAP_PROBE_URL = new URL("heap-probe.js", SCRIPTS).href;

/** Node.js servers run with the heap probe preloaded (see heap-probe.ts). */
function nodeServer(script: string, args: readonly string[], env?: NodeJS.ProcessEnv): LaunchSpec {
  return { command: process.execPath, args: ["--expose-gc", "--import", HEAP_PROBE_URL, script, ...args], heapProbe: true, ...(env ? { env } : {}) };
}

export function detectPeers(selected: readonly PeerId[]): PeerVariant[] {
  return selected.flatMap((id): PeerVariant[] => {
    switch (id) {
      case "turnpike":
        return turnpikeVariants();
      case "coturn":
        return [coturnVariant()];
      case "node-turn":
        return [nodeTurnVariant()];
      case "bare":
        return [bareVariant()];
    }
  });
}

function turnpikeVariants(): PeerVariant[] {
  const built = existsSync(TURNPIKE_MAIN);
  const help = built ? spawnSync(process.execPath, [TURNPIKE_MAIN, "--help"], { encoding: "utf8", timeout: 10_000 }).stdout ?? "" : "";
  // A relay-threads option, when the build has one: run with 1 and with 2 relay threads.
  const threadCounts = /--relay-threads\b/.test(help) ? [1, 2] : [undefined];
  // turnpike runs with its defaults, unauthorized-ratelimit included: uclient's 3 x 20 clients from
  // 127.0.0.1 fit within its burst (checked), and the allocation churn binds an address per client.
  return threadCounts.map((threads): PeerVariant => ({
    id: "turnpike",
    key: threads === undefined ? "turnpike" : `turnpike-${threads}`,
    label: threads === undefined ? "turnpike" : `turnpike (${threads} relay thread${threads === 1 ? "" : "s"})`,
    unavailable: built ? undefined : "not built (npm run build)",
    speaksTurn: true,
    tcp: true,
    dataPath: "channel",
    launch: (context) =>
      nodeServer(
        TURNPIKE_MAIN,
        [
          "start",
          "--listening-ip", context.host,
          "--listening-port", String(context.port),
          "--min-port", String(context.minPort),
          "--max-port", String(context.maxPort),
          "--user", BENCH_USER,
          "--realm", BENCH_REALM,
          "--allow-loopback-peers",
          "--rfc5766-channel-numbers",
          "--user-quota", String(QUOTA),
          "--total-quota", String(QUOTA),
          "--no-api",
          "--log-level", "warn",
          ...(threads === undefined ? [] : ["--relay-threads", String(threads)]),
        ],
        // Nothing is generated with a user given, but keep any state file inside the run's directory.
        { ...process.env, XDG_STATE_HOME: context.tempDir },
      ),
  }));
}

function coturnVariant(): PeerVariant {
  const probe = spawnSync("turnserver", ["--version"], { encoding: "utf8", timeout: 10_000 });
  const version = probe.error === undefined ? (probe.stdout ?? "").trim().split("\n").at(-1) ?? "" : "";
  return {
    id: "coturn",
    key: "coturn",
    label: `coturn ${version} (2 relay threads)`.replace("  ", " "),
    unavailable: probe.error === undefined ? undefined : "not installed",
    speaksTurn: true,
    tcp: true,
    dataPath: "channel",
    checkStartLog(log) {
      // coturn names each relay thread's event loop as it starts one.
      const relayThreads = log.match(/IO method \(general relay thread\)/g)?.length ?? 0;
      return relayThreads === 2 ? undefined : `coturn started ${relayThreads} relay threads, not 2`;
    },
    launch: (context) => ({
      command: "turnserver",
      args: [
        "-n", // no configuration file
        `--listening-ip=${context.host}`,
        `--listening-port=${context.port}`,
        `--relay-ip=${context.host}`,
        `--min-port=${context.minPort}`,
        `--max-port=${context.maxPort}`,
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--lt-cred-mech",
        `--user=${BENCH_USER}`,
        `--realm=${BENCH_REALM}`,
        "--allow-loopback-peers",
        "--relay-threads=2",
        "--log-file=stdout",
        // Everything it would write elsewhere goes to the run's directory.
        `--pidfile=${join(context.tempDir, "turnserver.pid")}`,
        `--db=${join(context.tempDir, "turndb")}`,
      ],
      heapProbe: false,
    }),
  };
}

function nodeTurnVariant(): PeerVariant {
  let version: string | undefined;
  try {
    const require = createRequire(join(PROJECT_ROOT, "package.json"));
    version = (JSON.parse(readFileSync(require.resolve("node-turn/package.json"), "utf8")) as { version: string }).version;
  } catch {
    version = undefined;
  }
  return {
    id: "node-turn",
    key: "node-turn",
    label: `node-turn ${version ?? ""}`.trim(),
    unavailable: version === undefined ? "not installed" : undefined,
    speaksTurn: true,
    tcp: false,
    // Its listener parses STUN only (lib/network.js), so client ChannelData is dropped; channels work peer -> client.
    dataPath: "send",
    caveat:
      "node-turn 0.0.6 drops ChannelData from clients (its listening socket parses STUN only), so its floods and RTT use Send/Data indications " +
      "(its UDP and UDP Send/Data columns give the same flood); " +
      "and it drops turnutils_uclient's Allocate (it throws on an attribute it does not know, type 0x0011), so uclient never gets going",
    launch: (context) =>
      nodeServer(fileURLToPath(new URL("node-turn-server.js", SCRIPTS)), [
        context.host,
        String(context.port),
        String(context.minPort),
        String(context.maxPort),
        BENCH_REALM,
        BENCH_USER,
      ]),
  };
}

function bareVariant(): PeerVariant {
  return {
    id: "bare",
    key: "bare",
    label: "bare dgram forwarder",
    unavailable: undefined,
    speaksTurn: false,
    tcp: false,
    dataPath: "raw",
    launch: (context) =>
      nodeServer(fileURLToPath(new URL("bare-forwarder.js", SCRIPTS)), [
        context.host,
        String(context.port),
        context.peer.host,
        String(context.peer.port),
      ]),
  };
}

/** coturn's uclient and its echo peer, both needed for the uclient columns. */
export function isUclientInstalled(): boolean {
  return ["turnutils_uclient", "turnutils_peer"].every((command) => {
    const probe = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
    return probe.status === 0;
  });
}
