import { spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";

// Below Linux's ephemeral range (32768-60999): no bind to port 0 and no outgoing connection on this
// machine takes the port between this check and the test's own bind.
const FREE_PORT_RANGE = { min: 20_000, max: 32_767 } as const;

/** Whether `port` can be bound on `address` for UDP and for TCP right now. */
async function bindable(port: number, address: string): Promise<boolean> {
  const udp = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
  const udpOk = await new Promise<boolean>((resolve) => {
    udp.once("error", () => resolve(false));
    udp.bind(port, address, () => resolve(true));
  });
  await new Promise<void>((resolve) => udp.close(() => resolve()));
  if (!udpOk) return false;
  const tcp = net.createServer();
  const tcpOk = await new Promise<boolean>((resolve) => {
    tcp.once("error", () => resolve(false));
    tcp.listen(port, address, () => resolve(true));
  });
  if (tcpOk) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  return tcpOk;
}

/**
 * A port free right now on `address` for both UDP and TCP, for a server the test starts in another
 * process or thread (which then binds it): a random pick below the ephemeral range.
 */
export async function freePort(address = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FREE_PORT_RANGE.min + Math.floor(Math.random() * (FREE_PORT_RANGE.max - FREE_PORT_RANGE.min + 1));
    if (await bindable(port, address)) return port;
  }
  throw new Error(`no free port on ${address} in ${FREE_PORT_RANGE.min}-${FREE_PORT_RANGE.max} after 200 tries`);
}

/** Resolves once something answers a datagram sent to `port` on 127.0.0.1 with its echo (turnutils_peer, started just now). */
export async function waitForUdpEcho(port: number, timeoutMs = 5000): Promise<void> {
  const socket = dgram.createSocket("udp4");
  socket.on("error", () => {}); // port unreachable until the peer binds
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  let echoed = false;
  socket.once("message", () => (echoed = true));
  try {
    const deadline = Date.now() + timeoutMs;
    while (!echoed) {
      if (Date.now() > deadline) throw new Error(`nothing echoed on UDP port ${port} within ${timeoutMs} ms`);
      socket.send(Buffer.from("ready?"), port, "127.0.0.1");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    socket.close();
  }
}

/** Runs a command to completion with a hard time limit; resolves with its output whatever the exit code. */
export function runBounded(
  command: string,
  args: readonly string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stdout: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ stdout, code });
    });
  });
}

/** Starts a long-running helper process; `stop()` kills it and waits for it to go. */
export function startProcess(command: string, args: readonly string[]): { child: ChildProcess; stop(): Promise<void> } {
  const child = spawn(command, args, { stdio: "ignore" });
  return {
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}
