import { spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";

/** A UDP port free right now on `address` (the kernel's pick, released again). */
export async function freeUdpPort(address = "127.0.0.1"): Promise<number> {
  const socket = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
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
