import { createConnection } from "node:net";
import { freePort, startProcess } from "./processes.js";

/** A redis-server (Debian's package) on 127.0.0.1 for one test file: nothing saved to disk. */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Kills it (SIGKILL: it says nothing to its clients) and waits for it to go. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that holds its connections and answers nothing. */
  pause(): void;
  resume(): void;
}

export async function startTestRedis(options: { password?: string } = {}): Promise<TestRedis> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  if (options.password !== undefined) args.push("--requirepass", options.password);
  let running = startProcess("redis-server", args);
  await waitForTcp(port);
  const auth = options.password === undefined ? "" : `:${encodeURIComponent(options.password)}@`;
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    stop: () => running.stop(),
    pause: () => void running.child.kill("SIGSTOP"),
    resume: () => void running.child.kill("SIGCONT"),
    async restart() {
      await running.stop();
      running = startProcess("redis-server", args);
      await waitForTcp(port);
    },
  };
}

async function waitForTcp(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms (is Debian's redis-server installed?)`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
