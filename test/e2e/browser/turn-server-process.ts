// The built CLI (`turnpike start`) as a child process inside the test namespace, its JSON log collected.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestNamespace } from "./network-namespace.js";

const CLI_PATH = fileURLToPath(new URL("../../../dist/cli/main.js", import.meta.url));

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface TurnServerProcess {
  /** Every JSON line the server has written to stdout so far. */
  readonly logLines: readonly LogLine[];
  /** Everything else it wrote (stderr, non-JSON stdout). */
  readonly otherOutput: () => string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

function parseLogLine(text: string): LogLine | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && "level" in value && "msg" in value) return value as LogLine;
  } catch {
    // not a log line
  }
  return undefined;
}

export async function startTurnServerProcess(
  namespace: TestNamespace,
  startArgs: readonly string[],
  startTimeoutMs: number,
): Promise<TurnServerProcess> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npm run build\` before this test`);

  const { command, args } = namespace.commandLine(process.execPath, [CLI_PATH, "start", ...startArgs]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const logLines: LogLine[] = [];
  let otherOutput = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null;

  const stop = async (graceMs = 5_000): Promise<void> => {
    if (hasExited()) return;
    child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (!hasExited()) child.kill("SIGKILL");
        resolve();
      }, graceMs);
    });
    await Promise.race([exited, killed]);
    clearTimeout(timer);
    await exited;
  };

  child.stderr.on("data", (chunk: Buffer) => (otherOutput += chunk.toString()));
  const started = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (text) => {
      const line = parseLogLine(text);
      if (line === undefined) {
        otherOutput += `${text}\n`;
        return;
      }
      logLines.push(line);
      if (line.msg === "turnpike started") resolve();
    });
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      reject(new Error(`turnpike exited before it started (code ${code}, signal ${signal}):\n${otherOutput}`)),
    );
  });

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`turnpike did not log "turnpike started" within ${startTimeoutMs} ms:\n${otherOutput}`)),
      startTimeoutMs,
    );
  });
  try {
    await Promise.race([started, timedOut]);
  } catch (error) {
    await stop(1_000);
    throw error;
  } finally {
    clearTimeout(timer);
  }

  return { logLines, otherOutput: () => otherOutput, stop };
}
