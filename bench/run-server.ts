// One repetition for one server: start it, run every load in turn, stop it. A load that fails leaves
// its figures out and says why; the others still run.
import { join } from "node:path";
import { runAllocationChurn, type AllocationChurnResult } from "./load/allocation-churn.js";
import { runBindingFlood, type BindingFloodResult } from "./load/binding-flood.js";
import { closeFlows, openFlows, type FlowKind } from "./load/echo-flows.js";
import type { EchoPeerProcess } from "./load/echo-peer-process.js";
import { runFlood, type FloodResult, type FloodStep } from "./load/flood.js";
import type { LoadProbe } from "./load/load-probe.js";
import { runPaced, type PacedResult } from "./load/paced.js";
import { sleep } from "./load/timing.js";
import { runUclient, UCLIENT_MODES, type UclientMode, type UclientResult } from "./load/uclient.js";
import type { Profile } from "./options.js";
import { freePort } from "./peers/free-port.js";
import { BENCH_CREDENTIALS, type PeerVariant } from "./peers/peer-specs.js";
import { sampleProcesses } from "./peers/proc-stats.js";
import { ServerProcess } from "./peers/server-process.js";

export interface ServerRunResult {
  readonly seconds: number;
  readonly idleRssBytes?: number;
  /** Threads of the server process under load (coturn's relay threads, turnpike's workers). */
  readonly threads?: number;
  /** ChannelData (raw payload for the bare forwarder, Send/Data for node-turn). */
  readonly udp?: FloodResult;
  /** Send/Data indications; for a server whose UDP flood already uses them, that same flood. */
  readonly udpSend?: FloodResult;
  readonly tcp?: FloodResult;
  readonly paced?: PacedResult;
  readonly binding?: BindingFloodResult;
  readonly churn?: AllocationChurnResult;
  readonly uclient: Partial<Record<UclientMode, UclientResult>>;
  readonly errors: readonly string[];
}

export interface RunContext {
  readonly profile: Profile;
  readonly host: string;
  readonly echoPeer: EchoPeerProcess;
  /** turnutils_peer, when coturn's tools are installed. */
  readonly uclientPeer: { readonly host: string; readonly port: number } | undefined;
  readonly tempDir: string;
  /** Relay ports, the same range for every server; below Linux's ephemeral range. */
  readonly relayPorts: { readonly min: number; readonly max: number };
  readonly onStep?: (label: string, step: FloodStep) => void;
}

const START_ATTEMPTS = 3;
const START_TIMEOUT_MS = 15_000;
const IDLE_SETTLE_MS = 300;

export async function runServerOnce(variant: PeerVariant, repetition: number, context: RunContext): Promise<ServerRunResult> {
  const startedAt = performance.now();
  const errors: string[] = [];
  const { profile, host, echoPeer } = context;
  const server = await startServer(variant, repetition, context);
  const startProblem = variant.checkStartLog?.(server.process.outputTail(64 * 1024));
  if (startProblem !== undefined) errors.push(startProblem);
  const target = { host, port: server.port };
  const peer = { family: "IPv4" as const, address: echoPeer.host, port: echoPeer.port };
  const probe: LoadProbe = {
    async sample() {
      const peerReceived = await echoPeer.received();
      const serverSample = server.process.sample();
      const echoSample = sampleProcesses([echoPeer.pid]);
      const cpu = process.cpuUsage();
      return {
        serverCpuMicros: serverSample?.cpuMicros ?? Number.NaN,
        serverRssBytes: serverSample?.rssBytes ?? Number.NaN,
        peerReceived,
        echoPeerCpuMicros: echoSample?.cpuMicros ?? Number.NaN,
        generatorCpuMicros: cpu.user + cpu.system,
      };
    },
    serverRssBytes: () => server.process.rssBytes(),
  };

  let exitReported = false;
  async function phase<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
    if (!server.process.isRunning) {
      // The first phase to find the server gone says what it last printed; the log goes with the run's directory.
      errors.push(exitReported ? `${name}: server not running` : `${name}: server not running; its last output: ${server.process.outputTail(600) || "(none)"}`);
      exitReported = true;
      return undefined;
    }
    try {
      return await run();
    } catch (error) {
      errors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  async function flood(kind: FlowKind): Promise<FloodResult> {
    const flows = await openFlows(kind, target, peer, profile.flood.flows, BENCH_CREDENTIALS);
    try {
      const onStep = context.onStep;
      return await runFlood(flows, probe, {
        ...profile.flood,
        payloadBytes: profile.payloadBytes,
        ...(onStep === undefined ? {} : { onStep: (step: FloodStep) => onStep(`${variant.label} ${kind}`, step) }),
      });
    } finally {
      await closeFlows(flows);
    }
  }

  async function sendIndicationFlood(udpKind: FlowKind, udp: FloodResult | undefined): Promise<FloodResult | undefined> {
    if (!variant.speaksTurn) return undefined;
    if (udpKind === "udp-send") return udp;
    return phase("udp send flood", () => flood("udp-send"));
  }

  try {
    await sleep(IDLE_SETTLE_MS);
    const idleRssBytes = server.process.rssBytes();
    const udpKind: FlowKind = variant.dataPath === "channel" ? "udp-channel" : variant.dataPath === "send" ? "udp-send" : "raw";
    const udp = await phase("udp flood", () => flood(udpKind));
    const threads = server.process.threads();
    const udpSend = await sendIndicationFlood(udpKind, udp);
    const tcp = variant.tcp ? await phase("tcp flood", () => flood("tcp-channel")) : undefined;
    const paced = await phase("paced rtt", async () => {
      const flows = await openFlows(udpKind, target, peer, profile.paced.flows, BENCH_CREDENTIALS);
      try {
        return await runPaced(flows, { ...profile.paced, payloadBytes: profile.payloadBytes });
      } finally {
        await closeFlows(flows);
      }
    });
    const binding = variant.speaksTurn ? await phase("binding flood", () => runBindingFlood(target, profile.binding)) : undefined;
    // Before uclient, which leaves some of its UDP allocations behind: they would count in the memory figure.
    const churn = variant.speaksTurn
      ? await phase("allocations", () => runAllocationChurn(target, peer, BENCH_CREDENTIALS, () => server.process.memory(), probe, profile.churn))
      : undefined;
    if (churn !== undefined && churn.failed > 0) errors.push(`allocations: ${churn.failed} failed (${churn.firstError ?? "?"})`);
    if (churn?.lastPassProblem !== undefined) errors.push(`allocations, after the 1st pass: ${churn.lastPassProblem}`);
    const uclient: Partial<Record<UclientMode, UclientResult>> = {};
    const uclientPeer = context.uclientPeer;
    if (variant.speaksTurn && uclientPeer !== undefined) {
      // The three modes at once: uclient spreads its clients' starts over 1-6 s, so one after the other would triple that.
      const modes = UCLIENT_MODES.filter((mode) => variant.tcp || mode !== "tcp-channel");
      await Promise.all(
        modes.map((mode) =>
          phase(`uclient ${mode}`, async () => {
            const result = await runUclient(target, uclientPeer, BENCH_CREDENTIALS, mode, profile.uclient);
            uclient[mode] = result;
            if (result.problem !== undefined) errors.push(`uclient ${mode}: ${result.problem}`);
          }),
        ),
      );
    }
    return {
      seconds: (performance.now() - startedAt) / 1000,
      ...(idleRssBytes === undefined ? {} : { idleRssBytes }),
      ...(threads === undefined ? {} : { threads }),
      ...(udp === undefined ? {} : { udp }),
      ...(udpSend === undefined ? {} : { udpSend }),
      ...(tcp === undefined ? {} : { tcp }),
      ...(paced === undefined ? {} : { paced }),
      ...(binding === undefined ? {} : { binding }),
      ...(churn === undefined ? {} : { churn }),
      uclient,
      errors,
    };
  } finally {
    await server.process.stop();
  }
}

async function startServer(variant: PeerVariant, repetition: number, context: RunContext): Promise<{ process: ServerProcess; port: number }> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    // A port picked now may be taken before the server binds it; try another.
    const port = await freePort(context.host, { tcp: variant.tcp });
    const spec = variant.launch({
      host: context.host,
      port,
      minPort: context.relayPorts.min,
      maxPort: context.relayPorts.max,
      peer: { host: context.echoPeer.host, port: context.echoPeer.port },
      tempDir: context.tempDir,
    });
    const logFile = join(context.tempDir, `${variant.key}-${repetition}-${attempt}.log`);
    try {
      const process = await ServerProcess.start(
        spec,
        { host: context.host, port, udp: variant.speaksTurn ? "binding" : "echo", tcp: variant.tcp, timeoutMs: START_TIMEOUT_MS },
        logFile,
      );
      return { process, port };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
