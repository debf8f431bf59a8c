// npm run bench: turnpike side by side with coturn, node-turn and a bare dgram forwarder, each its own
// process on loopback, in interleaved repetitions; prints one table. See bench/README.md.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { killChildren } from "./children.js";
import { closeFlows, openFlows } from "./load/echo-flows.js";
import { EchoPeerProcess } from "./load/echo-peer-process.js";
import { runFlood, type FloodResult, type FloodStep } from "./load/flood.js";
import { parseOptions, USAGE, UsageError, type BenchOptions } from "./options.js";
import { freePort } from "./peers/free-port.js";
import { BENCH_CREDENTIALS, detectPeers, isUclientInstalled } from "./peers/peer-specs.js";
import { sampleProcesses } from "./peers/proc-stats.js";
import { ServerProcess } from "./peers/server-process.js";
import { PROJECT_ROOT } from "./paths.js";
import { formatReport } from "./report/report.js";
import { rate } from "./report/format.js";
import { runServerOnce, type RunContext, type ServerRunResult } from "./run-server.js";

const HOST = "127.0.0.1";
// Below Linux's ephemeral range (32768-60999), so relay ports never meet the generator's own sockets.
const RELAY_PORTS = { min: 10_000, max: 29_999 };
const FILE_LIMIT = 65_536;

const cleanups: (() => Promise<void>)[] = [];

async function main(options: BenchOptions): Promise<void> {
  const startedAt = performance.now();
  const { profile } = options;
  const deadline = startedAt + profile.runTimeLimitMs;
  raiseFileLimit();
  const tempDir = mkdtempSync(join(tmpdir(), "turnpike-bench-"));
  cleanups.push(async () => rmSync(tempDir, { recursive: true, force: true }));

  const variants = detectPeers(options.servers);
  const uclientInstalled = isUclientInstalled();
  const echoPeer = await EchoPeerProcess.start(HOST);
  cleanups.push(() => echoPeer.stop());
  let uclientPeer: RunContext["uclientPeer"];
  if (uclientInstalled) {
    const port = await freePort(HOST, { tcp: false });
    const peer = await ServerProcess.start(
      { command: "turnutils_peer", args: ["-p", String(port), "-L", HOST], heapProbe: false },
      { host: HOST, port, udp: "echo", tcp: false, timeoutMs: 10_000 },
      join(tempDir, "turnutils_peer.log"),
    );
    cleanups.push(() => peer.stop());
    uclientPeer = { host: HOST, port };
  }

  const context: RunContext = {
    profile,
    host: HOST,
    echoPeer,
    uclientPeer,
    tempDir,
    relayPorts: RELAY_PORTS,
    ...(options.verbose ? { onStep: (label: string, step: FloodStep) => progress(`  ${label}: ${describeStep(step)}`) } : {}),
  };
  const results = new Map<string, ServerRunResult[]>();
  const ceilings: (FloodResult | undefined)[] = [];
  let repetitionsDone = 0;
  let lastRepetitionMs = 0;
  for (let repetition = 1; repetition <= profile.repetitions; repetition++) {
    // Whole repetitions only, so that every server has the same number of runs.
    if (performance.now() + lastRepetitionMs > deadline) {
      progress(`time limit: stopping after ${repetitionsDone} repetition(s)`);
      break;
    }
    const repetitionStartedAt = performance.now();
    const ceiling = await measureCeiling(echoPeer, options);
    ceilings.push(ceiling);
    progress(`repetition ${repetition}/${profile.repetitions} load-side ceiling (generator <-> echo peer): ${ceiling?.best === undefined ? "?" : rate(ceiling.best.echoedPerSecond)} msg/s`);
    for (const variant of variants) {
      if (variant.unavailable !== undefined) continue;
      let result: ServerRunResult;
      try {
        result = await runServerOnce(variant, repetition, context);
      } catch (error) {
        result = { seconds: 0, uclient: {}, errors: [`start: ${error instanceof Error ? error.message : String(error)}`] };
      }
      const runs = results.get(variant.key) ?? [];
      runs.push(result);
      results.set(variant.key, runs);
      progress(`repetition ${repetition}/${profile.repetitions} ${variant.label}: ${summaryLine(result)}`);
    }
    repetitionsDone = repetition;
    lastRepetitionMs = performance.now() - repetitionStartedAt;
  }

  const report = formatReport({
    profile,
    variants,
    results,
    ceilings,
    uclientInstalled,
    environment: {
      date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
      cpu: cpus()[0]?.model.trim() ?? "unknown CPU",
      cores: cpus().length,
      node: process.versions.node,
      totalSeconds: (performance.now() - startedAt) / 1000,
      repetitionsDone,
    },
  });
  process.stdout.write("\n" + report);
  if (options.recordsResults) {
    const dir = join(PROJECT_ROOT, "bench", "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "latest.md"), report);
    progress("written to bench/results/latest.md");
  }
}

/** The generator against the echo peer alone: what the load side can do with no relay in between. */
async function measureCeiling(echoPeer: EchoPeerProcess, options: BenchOptions): Promise<FloodResult | undefined> {
  const { profile } = options;
  const flows = await openFlows("raw", { host: echoPeer.host, port: echoPeer.port }, { family: "IPv4", address: HOST, port: 0 }, profile.flood.flows, BENCH_CREDENTIALS);
  try {
    return await runFlood(
      flows,
      {
        // The "server" here is the echo peer itself.
        async sample() {
          const peerReceived = await echoPeer.received();
          const echo = sampleProcesses([echoPeer.pid]);
          const cpu = process.cpuUsage();
          return {
            serverCpuMicros: echo?.cpuMicros ?? Number.NaN,
            serverRssBytes: echo?.rssBytes ?? Number.NaN,
            peerReceived,
            echoPeerCpuMicros: echo?.cpuMicros ?? Number.NaN,
            generatorCpuMicros: cpu.user + cpu.system,
          };
        },
        serverRssBytes: () => undefined,
      },
      { ...profile.flood, payloadBytes: profile.payloadBytes },
    );
  } catch (error) {
    progress(`load-side ceiling failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  } finally {
    await closeFlows(flows);
  }
}

function summaryLine(result: ServerRunResult): string {
  const parts = [`${result.seconds.toFixed(0)} s`];
  if (result.udp !== undefined) parts.push(floodSummary("udp", result.udp));
  if (result.udpSend !== undefined && result.udpSend !== result.udp) parts.push(floodSummary("udp send", result.udpSend));
  if (result.tcp !== undefined) parts.push(floodSummary("tcp", result.tcp));
  if (result.paced !== undefined) parts.push(`rtt p50 ${result.paced.p50Micros.toFixed(0)} µs`);
  if (result.churn !== undefined) parts.push(`${rate(result.churn.allocationsPerSecond)} allocations/s`);
  if (result.errors.length > 0) parts.push(`problems: ${result.errors.join("; ")}`);
  return parts.join(", ");
}

function floodSummary(name: string, flood: FloodResult): string {
  const best = flood.best;
  return best === undefined ? `${name} none within the loss limit` : `${name} ${rate(best.echoedPerSecond)}/s at ${best.cpuMicrosPerDatagram.toFixed(2)} µs/datagram`;
}

function describeStep(step: FloodStep): string {
  const { loadSide } = step;
  return (
    `window ${step.windowPerFlow}x${step.flows}: ${rate(step.echoedPerSecond)}/s, loss ${(step.loss * 100).toFixed(2)}%, ` +
    `${step.cpuMicrosPerDatagram.toFixed(2)} µs/datagram; cores: server ${loadSide.serverCores.toFixed(2)}, ` +
    `generator ${loadSide.generatorCores.toFixed(2)}, echo ${loadSide.echoPeerCores.toFixed(2)}`
  );
}

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** 10,000 allocations need 10,000 sockets on each side; children inherit the raised limit. Best effort. */
function raiseFileLimit(): void {
  spawnSync("prlimit", [`--pid=${process.pid}`, `--nofile=${FILE_LIMIT}:${FILE_LIMIT}`], { stdio: "ignore" });
}

async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
}

let options: BenchOptions | "help";
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n\n${USAGE}`);
  process.exit(2);
}
if (options === "help") {
  process.stdout.write(USAGE);
  process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping`);
    killChildren();
    void cleanUp().finally(() => process.exit(130));
  });
}
try {
  await main(options);
  await cleanUp();
} catch (error) {
  await cleanUp();
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}
