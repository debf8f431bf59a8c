// Starts the echo peer as a child process and reads its counter.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { trackChild } from "../children.js";
import type { EchoPeerReply } from "./echo-peer-messages.js";

const SCRIPT = fileURLToPath(new URL("./echo-peer.js", import.meta.url));
const START_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 5_000;

export class EchoPeerProcess {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly child: ChildProcess,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(host: string): Promise<EchoPeerProcess> {
    const child = trackChild(fork(SCRIPT, [host], { stdio: ["ignore", "ignore", "inherit", "ipc"] }));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("echo peer did not start")), START_TIMEOUT_MS);
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`echo peer exited with ${code}`)));
      child.once("message", (message: EchoPeerReply) => {
        clearTimeout(timer);
        if (message.type === "ready") resolve(message.port);
        else reject(new Error("echo peer answered before it was ready"));
      });
    });
    child.removeAllListeners("exit");
    return new EchoPeerProcess(child, host, port);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Datagrams the peer has received (and echoed) since it started. One request at a time. */
  received(): Promise<number> {
    const next = this.queue.then(
      () =>
        new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("echo peer did not answer")), REQUEST_TIMEOUT_MS);
          this.child.once("message", (message: EchoPeerReply) => {
            clearTimeout(timer);
            if (message.type === "counters") resolve(message.received);
            else reject(new Error(`unexpected echo peer message ${message.type}`));
          });
          this.child.send({ type: "counters" });
        }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once("exit", () => resolve());
      this.child.kill("SIGKILL");
    });
  }
}
