// One server under test as its own OS process: started, probed until it answers, sampled from /proc,
// asked for its heap (Node.js servers, through the preloaded probe), and stopped.
import { spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { openSync, closeSync, readFileSync } from "node:fs";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { encodeMessage, MessageClass, Method } from "../../src/stun/index.js";
import type { MemoryReading } from "../load/allocation-churn.js";
import { sleep, withTimeout } from "../load/timing.js";
import type { HeapProbeReply } from "./heap-probe-messages.js";
import { trackChild } from "../children.js";
import { processTree, sampleProcesses, threadCount, type ProcessSample } from "./proc-stats.js";

export interface LaunchSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** Started with the heap probe preloaded and an IPC channel to it. */
  readonly heapProbe: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export interface Readiness {
  readonly host: string;
  readonly port: number;
  /** "binding": a STUN Binding request is answered; "echo": a datagram comes back (through the echo peer). */
  readonly udp: "binding" | "echo";
  readonly tcp: boolean;
  readonly timeoutMs: number;
}

const STOP_GRACE_MS = 3_000;
const PROBE_INTERVAL_MS = 100;
const HEAP_TIMEOUT_MS = 5_000;
const BINDING_SUCCESS = 0x0101;

export class ServerProcess {
  private tree: number[];
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly logFile: string,
  ) {
    this.tree = [child.pid ?? -1];
    child.once("exit", () => {
      this.exited = true;
    });
  }

  /** Output goes to `logFile` (in the run's temporary directory); rejects with its tail if the server does not come up. */
  static async start(spec: LaunchSpec, readiness: Readiness, logFile: string): Promise<ServerProcess> {
    const fd = openSync(logFile, "w");
    let child: ChildProcess;
    try {
      child = trackChild(spawn(spec.command, spec.args, {
        stdio: ["ignore", fd, fd, ...(spec.heapProbe ? (["ipc"] as const) : [])],
        env: spec.env ?? process.env,
      }));
    } finally {
      closeSync(fd);
    }
    const server = new ServerProcess(child, logFile);
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    const ready = await Promise.race([waitReady(readiness, () => server.exited), spawnError]);
    if (ready !== true) {
      await server.stop();
      const reason = ready instanceof Error ? ready.message : server.exited ? "exited" : "did not answer";
      throw new Error(`${spec.command} ${reason}: ${server.outputTail()}`);
    }
    server.tree = processTree(child.pid!);
    return server;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get isRunning(): boolean {
    return !this.exited;
  }

  /** Re-reads which processes belong to the server (it may have started helpers), then samples them. */
  sample(): ProcessSample | undefined {
    if (!this.exited) this.tree = processTree(this.pid);
    return sampleProcesses(this.tree);
  }

  /** RSS from the last known process tree, cheap enough to poll during a load. */
  rssBytes(): number | undefined {
    return sampleProcesses(this.tree)?.rssBytes;
  }

  threads(): number | undefined {
    return threadCount(this.pid);
  }

  /** RSS from /proc, and for Node.js servers the V8 heap after a full GC (RSS is read after that GC too). */
  async memory(): Promise<MemoryReading> {
    if (this.child.send === undefined || !this.child.connected) return { rssBytes: this.rssBytes() ?? Number.NaN };
    const reply = await withTimeout(
      new Promise<HeapProbeReply>((resolve) => {
        this.child.once("message", (message: HeapProbeReply) => resolve(message));
        this.child.send!({ type: "memory" });
      }),
      HEAP_TIMEOUT_MS,
      undefined,
    );
    const rssBytes = this.rssBytes() ?? Number.NaN;
    return reply === undefined ? { rssBytes } : { rssBytes, heapUsedBytes: reply.heapUsedBytes };
  }

  outputTail(bytes = 1500): string {
    try {
      const text = readFileSync(this.logFile, "utf8");
      return text.slice(-bytes).trim();
    } catch {
      return "";
    }
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
  async stop(): Promise<void> {
    if (this.exited || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    if ((await withTimeout(gone.then(() => true), STOP_GRACE_MS, false)) === false) {
      this.child.kill("SIGKILL");
      await gone;
    }
  }
}

async function waitReady(readiness: Readiness, hasExited: () => boolean): Promise<boolean> {
  const deadline = performance.now() + readiness.timeoutMs;
  while (performance.now() < deadline && !hasExited()) {
    const udp = await probeUdp(readiness);
    const tcp = !readiness.tcp || (udp && (await probeTcp(readiness)));
    if (udp && tcp) return true;
    await sleep(PROBE_INTERVAL_MS);
  }
  return false;
}

async function probeUdp(readiness: Readiness): Promise<boolean> {
  const socket = dgram.createSocket(readiness.host.includes(":") ? "udp6" : "udp4");
  socket.on("error", () => {});
  try {
    const answered = new Promise<boolean>((resolve) => {
      socket.on("message", (bytes) => resolve(readiness.udp === "echo" || (bytes.length >= 20 && bytes.readUInt16BE(0) === BINDING_SUCCESS)));
    });
    const request =
      readiness.udp === "binding"
        ? encodeMessage({ method: Method.Binding, messageClass: MessageClass.Request, transactionId: randomBytes(12), attributes: [] })
        : Buffer.from("ready?");
    socket.send(request, readiness.port, readiness.host);
    return await withTimeout(answered, PROBE_INTERVAL_MS * 2, false);
  } finally {
    socket.close();
  }
}

function probeTcp(readiness: Readiness): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: readiness.host, port: readiness.port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
