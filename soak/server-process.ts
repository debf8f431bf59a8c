// turnpike as the operator runs it: `node dist/cli/main.js start ...`, a child process watched
// through its /metrics endpoint and its /proc entry.
import { spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { readdir } from "node:fs/promises";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { parseMetrics, type MetricValues } from "./metrics.js";

export const SOAK_CREDENTIALS = { username: "soak", password: "soak", realm: "soak" } as const;

const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_TAIL_CHARS = 16 * 1024;

export interface ServerSample {
  readonly metrics: MetricValues;
  /** Entries of /proc/<pid>/fd; NaN when it cannot be read. */
  readonly openFds: number;
}

export class SoakServer {
  private output = "";
  /** Lines the server printed after it became ready (it runs at log level warn). */
  logLines = 0;
  private ready = false;
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly host: string,
    readonly port: number,
    readonly apiPort: number,
  ) {
    const onOutput = (chunk: Buffer): void => {
      const text = chunk.toString("utf8");
      if (this.ready) this.logLines += text.split("\n").filter((line) => line.trim() !== "").length;
      this.output = (this.output + text).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout!.on("data", onOutput);
    child.stderr!.on("data", onOutput);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  outputTail(): string {
    return this.output;
  }

  static async start(host: string, relayThreads: number, population: number): Promise<SoakServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const [port, apiPort] = [await freePort(host, true), await freePort(host, false)];
      const args = [
        CLI, "start",
        "--listening-ip", host, "--listening-port", String(port),
        "--user", `${SOAK_CREDENTIALS.username}:${SOAK_CREDENTIALS.password}`, "--realm", SOAK_CREDENTIALS.realm,
        "--allow-loopback-peers",
        "--api-listening-port", String(apiPort), "--api-key", "soak-api-key",
        "--log-level", "warn",
        // One username holds the whole population (the default quota is 10 a user).
        "--user-quota", String(population * 2 + 10),
      ];
      if (relayThreads > 0) args.push("--relay-threads", String(relayThreads));
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
      const server = new SoakServer(child, host, port, apiPort);
      try {
        await server.waitReady();
        return server;
      } catch (error) {
        lastError = error;
        await server.stop();
      }
    }
    throw lastError;
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.isRunning) throw new Error(`turnpike exited at start:\n${this.output}`);
      try {
        await this.scrape();
        this.ready = true;
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`turnpike not ready after ${READY_TIMEOUT_MS} ms:\n${this.output}`);
  }

  async scrape(): Promise<MetricValues> {
    const response = await fetch(`http://${this.host}:${this.apiPort}/metrics`, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
    return parseMetrics(await response.text());
  }

  async sample(): Promise<ServerSample> {
    const metrics = await this.scrape();
    const openFds = await readdir(`/proc/${this.pid}/fd`).then(
      (entries) => entries.length,
      () => metrics.get("process_open_fds") ?? Number.NaN,
    );
    return { metrics, openFds };
  }

  async stop(): Promise<void> {
    if (this.isRunning) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** A port free on `host` for TCP (and for UDP too when `udpToo`); another process may still take it first. */
async function freePort(host: string, udpToo: boolean): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
    });
    const udpFree = !udpToo || (await isUdpPortFree(host, port));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (udpFree) return port;
  }
  throw new Error("no free port found");
}

function isUdpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}
