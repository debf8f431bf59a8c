import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { freePort } from "../helpers/processes.js";
import { until } from "../helpers/until.js";

// The built binary, as an operator runs it (`npm test` builds first).
const BIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const DIR = mkdtempSync(join(tmpdir(), "turnpike-modules-"));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

// A preload that writes down, as each thread exits, the files its require cache holds: every package
// checked here is CommonJS, and stays there however it was imported (ES import included).
const PRELOAD = join(DIR, "record-modules.mjs");
writeFileSync(
  PRELOAD,
  `import { appendFileSync } from "node:fs";
import { createRequire } from "node:module";
import { threadId } from "node:worker_threads";
const { cache } = createRequire(import.meta.url);
process.on("exit", () => {
  appendFileSync(process.env.MODULES_LOG, Object.keys(cache).map((file) => threadId + " " + file + "\\n").join(""));
});
`,
);

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Starts the server with `args`, waits until it serves, stops it; the packages its main thread (0) and its relay thread (1) loaded. */
async function packagesLoaded(name: string, args: readonly string[]): Promise<Map<string, Set<string>>> {
  const modulesLog = join(DIR, `${name}.log`);
  writeFileSync(modulesLog, "");
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", PRELOAD, BIN, "start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--min-port", "41000", "--max-port", "41100",
      "--user", "a:b", "--realm", "r", "--relay-threads", "1", "--state-file", join(DIR, `${name}.json`), ...args],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MODULES_LOG: modulesLog } },
  );
  children.push(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const serving = await until(() => output.includes("relay threads serving"), 15_000, 50);
  child.kill("SIGTERM");
  await exited;
  expect(serving, output).toBe(true);
  const packages = new Map([["0", new Set<string>()], ["1", new Set<string>()]]);
  for (const line of readFileSync(modulesLog, "utf8").split("\n")) {
    const match = /^(\d+) .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (match) packages.get(match[1]!)?.add(match[2]!);
  }
  return packages;
}

describe("optional modules", () => {
  it("loads neither the HTTP stack, the Redis client nor the log's pretty printer when the server needs none", async () => {
    // Its output is a pipe here, not a terminal: JSON lines.
    const packages = (await packagesLoaded("bare", ["--no-api"])).get("0")!;
    expect(packages.has("pino")).toBe(true);
    for (const name of ["fastify", "prom-client", "@redis/client", "pino-pretty"]) expect(packages.has(name), name).toBe(false);
  }, 30_000);

  it("loads the HTTP stack for the credential endpoint, and not the Redis client", async () => {
    const packages = (await packagesLoaded("api", ["--api-listening-port", String(await freePort()), "--api-key", "k".repeat(32)])).get("0")!;
    expect(packages.has("fastify")).toBe(true);
    expect(packages.has("prom-client")).toBe(true);
    expect(packages.has("@redis/client")).toBe(false);
  }, 30_000);

  it("loads the Redis client for redis-url, and not the HTTP stack", async () => {
    const packages = (await packagesLoaded("redis", ["--no-api", "--redis-url", `redis://127.0.0.1:${await freePort()}`])).get("0")!;
    expect(packages.has("@redis/client")).toBe(true);
    expect(packages.has("fastify")).toBe(false);
  }, 30_000);

  it("keeps the log's pretty printer out of relay threads, which write JSON to the main thread", async () => {
    const packages = await packagesLoaded("threads", ["--no-api"]);
    expect(packages.get("1")!.has("pino")).toBe(true);
    expect(packages.get("1")!.has("pino-pretty")).toBe(false);
  }, 30_000);
});
