import { execFile } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { getHeapStatistics } from "node:v8";
import { isMainThread } from "node:worker_threads";
import stun from "stun";
import { afterEach, describe, expect, it } from "vitest";
import { TurnSession } from "../../bench/load/turn-session.js";
import type { Config } from "../../src/config/config.js";
import { configFromObject } from "../../src/config/config-from-object.js";
import { TRIM_CHECK_INTERVAL_MS, TRIM_MAX_MAIN_HEAP_BYTES, TRIM_MIN_HEAP_GROWTH_BYTES, TRIMMED_AFTER_ENDED, TRIMMED_AFTER_GROWTH, TRIMMED_AFTER_RELAYS } from "../../src/server/heap-trim.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { until } from "../helpers/until.js";

// After a burst of allocations ends, each relay thread gives the heap the burst filled back to the
// system, instead of keeping it for good, and the main thread follows (heap-trim.ts).
const CLIENTS = 3000;
const IN_FLIGHT = 64;
const MiB = 1024 * 1024;
const GC_EXPOSURE = fileURLToPath(new URL("fixtures/gc-exposure.mjs", import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Each client on an address of its own (127.3.x.y), as clients behind different NATs: no per-address limit sees more than one. */
function clientAddress(i: number): string {
  return `127.3.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

async function inTurns<T>(items: readonly T[], inFlight: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** UDP (and TCP if `tcp`) on 127.0.0.1 only, for `clients` allocations of one user. */
function serverConfig(options: { readonly relayThreads: number; readonly clients: number; readonly heapTrim?: boolean; readonly tcp?: boolean }): Config {
  const { relayThreads, clients, heapTrim = true, tcp = false } = options;
  return configFromObject({
    heapTrim,
    relayThreads,
    listeningIps: ["127.0.0.1"],
    listeningPort: 0,
    noTcp: !tcp,
    noApi: true,
    realm: "example.org",
    users: ["alice:pw"],
    userQuota: clients,
    totalQuota: clients,
  });
}

/** `count` clients allocate through `server`; what it returns ends their allocations (Refresh with LIFETIME 0). */
async function allocateAll(server: RunningServer, count: number): Promise<() => Promise<void>> {
  const port = server.listeners[0]!.port;
  const sessions: TurnSession[] = [];
  cleanups.push(() => Promise.all(sessions.map((session) => session.close())).then(() => undefined));
  await inTurns(
    Array.from({ length: count }, (_, i) => i),
    IN_FLIGHT,
    async (i) => sessions.push(await TurnSession.connect({ host: "127.0.0.1", port }, "udp", { username: "alice", password: "pw" }, { localAddress: clientAddress(i) })),
  );
  await inTurns(sessions, IN_FLIGHT, (session) => session.allocate());
  expect(await until(() => server.stats().allocations === count, 2000)).toBe(true);
  return () => inTurns(sessions, IN_FLIGHT, (session) => session.refresh(0));
}

/** The relay threads' heap size once they have reported twice more (they report every 250 ms). */
async function reportedHeapSize(server: RunningServer): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 600));
  return server.stats().relayHeapSizeBytes;
}

/**
 * `count` TCP clients, each from an address of its own, write Binding requests as fast as the server
 * takes them and never read the answers, until `enough` says so or `maxMs` pass; then they close.
 */
async function floodWithoutReading(port: number, count: number, enough: () => boolean, maxMs: number): Promise<void> {
  const chunk = Buffer.concat(Array.from({ length: 2000 }, () => stun.encode(stun.createMessage(stun.constants.STUN_BINDING_REQUEST))));
  const sockets = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const socket = net.connect({ host: "127.0.0.1", port, localAddress: clientAddress(10_000 + i) });
      socket.pause();
      return new Promise<net.Socket>((resolve, reject) => socket.once("error", reject).once("connect", () => resolve(socket.on("error", () => {}))));
    }),
  );
  const endMs = performance.now() + maxMs;
  let flooding = true;
  const pumps = sockets.map(async (socket) => {
    while (flooding && !socket.destroyed) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve).once("close", resolve));
    }
  });
  while (!enough() && performance.now() < endMs) await new Promise((resolve) => setTimeout(resolve, 100));
  flooding = false;
  for (const socket of sockets) socket.destroy();
  await Promise.all(pumps);
}

describe("heap trim: the memory of ended allocations goes back to the system", () => {
  it(`${CLIENTS} allocations over two relay threads, deleted: each thread collects once, and the heap the burst grew shrinks back`, async () => {
    const logger = createRecordingLogger();
    const server = await startServer(serverConfig({ relayThreads: 2, clients: CLIENTS }), { logger });
    cleanups.push(() => server.close());
    const before = await reportedHeapSize(server);

    const deleteAll = await allocateAll(server, CLIENTS);
    const peak = await reportedHeapSize(server);

    await deleteAll();
    const linesOf = (msg: string) => logger.records.filter((r) => r.msg === msg);
    expect(await until(() => linesOf(TRIMMED_AFTER_ENDED).length === 2 && linesOf(TRIMMED_AFTER_RELAYS).length === 1, 5000)).toBe(true);
    // Each relay thread once, all its allocations ended (none mid-deletion), then the main thread (no worker field).
    const relayLines = linesOf(TRIMMED_AFTER_ENDED);
    expect(new Set(relayLines.map((r) => r.obj["worker"]))).toEqual(new Set([0, 1]));
    expect(relayLines.map((r) => r.obj["allocations"])).toEqual([0, 0]);
    expect(relayLines.reduce((sum, r) => sum + (r.obj["ended"] as number), 0)).toBe(CLIENTS);
    expect(linesOf(TRIMMED_AFTER_RELAYS).map((r) => r.obj["worker"])).toEqual([undefined]);
    expect(await until(() => server.stats().heapTrims === 2, 2000)).toBe(true);

    const after = await reportedHeapSize(server);
    // The burst grew the relay threads' heaps (else this test would show nothing), and most of that went back.
    expect(peak - before).toBeGreaterThan(4 * MiB);
    expect(after - before).toBeLessThan((peak - before) / 4);
    expect(logger.errors()).toEqual([]);
  });

  it("a flood of requests that allocated nothing: once the thread is idle, the heap it grew is collected and shrinks back", async () => {
    const logger = createRecordingLogger();
    const server = await startServer(serverConfig({ relayThreads: 1, clients: 1, tcp: true }), { logger });
    cleanups.push(() => server.close());
    const before = await reportedHeapSize(server);
    let peak = before;
    const grown = () => {
      peak = Math.max(peak, server.stats().relayHeapSizeBytes);
      // The heap alone (the policy also counts Buffers' memory): past the bound, it is past the policy's.
      return peak - before > TRIM_MIN_HEAP_GROWTH_BYTES + 8 * MiB;
    };
    // About 3-5 s here; the bound leaves room for a host busy with other test files.
    await floodWithoutReading(server.listeners.find((l) => l.transport === "tcp")!.port, 100, grown, 25_000);
    // The flood grew the relay thread's heap past the bound (else this test would show nothing).
    expect(grown()).toBe(true);
    expect(await until(() => logger.records.some((r) => r.msg === TRIMMED_AFTER_GROWTH), 5000)).toBe(true);
    const [line] = logger.records.filter((r) => r.msg === TRIMMED_AFTER_GROWTH);
    expect(line?.obj).toMatchObject({ worker: 0, allocations: 0, ended: 0 });
    expect(line?.obj["heapGrowthMiB"] as number).toBeGreaterThanOrEqual(TRIM_MIN_HEAP_GROWTH_BYTES / MiB);
    expect(logger.records.filter((r) => r.msg === TRIMMED_AFTER_ENDED)).toEqual([]);
    const after = await reportedHeapSize(server);
    expect(after - before).toBeLessThan((peak - before) / 2);
    expect(logger.errors()).toEqual([]);
  }, 40_000);

  it("with heap-trim=false, a thread whose allocations all ended does not collect, where one with it on does", async () => {
    const count = 1200; // past TRIM_MIN_DROP
    const start = async (heapTrim: boolean) => {
      const logger = createRecordingLogger();
      const server = await startServer(serverConfig({ relayThreads: 1, clients: count, heapTrim }), { logger });
      cleanups.push(() => server.close());
      return { logger, server, deleteAll: await allocateAll(server, count) };
    };
    const on = await start(true);
    const off = await start(false);
    await Promise.all([on.deleteAll(), off.deleteAll()]);
    // The server with the trim on says how long it takes here; the other has had that and more.
    expect(await until(() => on.logger.records.some((r) => r.msg === TRIMMED_AFTER_ENDED), 5000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(off.server.stats().allocations).toBe(0);
    expect(off.logger.records.filter((r) => r.msg === TRIMMED_AFTER_ENDED)).toEqual([]);
    expect(off.server.stats().heapTrims).toBe(0);
    expect(on.server.stats().heapTrims).toBe(1);
    expect(off.logger.errors()).toEqual([]);
  });

  it("in process, on the application's main thread, does not collect for the application's own growth", async () => {
    expect(isMainThread).toBe(true);
    const logger = createRecordingLogger();
    const server = await startServer(serverConfig({ relayThreads: 1, clients: 1 }), { logger, inProcess: true });
    cleanups.push(() => server.close());
    await new Promise((resolve) => setTimeout(resolve, 600));
    // The application's Buffers, held: past the growth bound, and outside the used heap that TRIM_MAX_MAIN_HEAP_BYTES bounds.
    const ballast = Array.from({ length: 2 * TRIM_MIN_HEAP_GROWTH_BYTES / MiB }, () => Buffer.alloc(MiB));
    expect(getHeapStatistics().used_heap_size).toBeLessThan(TRIM_MAX_MAIN_HEAP_BYTES);
    // The server idle for far more than the checks a collection waits for.
    await new Promise((resolve) => setTimeout(resolve, 8 * TRIM_CHECK_INTERVAL_MS));
    expect(logger.records.filter((r) => r.msg.startsWith("heap trimmed"))).toEqual([]);
    expect(ballast).toHaveLength(64);
  });

  it("in process, on the application's main thread, collects while that heap is small and passes over it once it is past the bound", async () => {
    expect(isMainThread).toBe(true); // vitest's forks pool: the relay below runs on a process's main thread
    const count = 1200; // past TRIM_MIN_DROP
    const run = async () => {
      const logger = createRecordingLogger();
      const server = await startServer(serverConfig({ relayThreads: 1, clients: count }), { logger, inProcess: true });
      cleanups.push(() => server.close());
      await (await allocateAll(server, count))();
      return logger;
    };
    const small = await run();
    const startedMs = performance.now();
    expect(await until(() => small.records.some((r) => r.msg === TRIMMED_AFTER_ENDED), 5000)).toBe(true);
    const tookMs = performance.now() - startedMs;

    // An application's own heap, past the bound: doubles, 8 bytes each, live until the end of the test.
    const ballast = new Array<number>(Math.ceil((TRIM_MAX_MAIN_HEAP_BYTES - getHeapStatistics().used_heap_size + 16 * MiB) / 8)).fill(0.5);
    const large = await run();
    await new Promise((resolve) => setTimeout(resolve, tookMs + 1000));
    expect(getHeapStatistics().used_heap_size).toBeGreaterThan(TRIM_MAX_MAIN_HEAP_BYTES);
    expect(large.records.filter((r) => r.msg === TRIMMED_AFTER_ENDED)).toEqual([]);
    expect(ballast.length).toBeGreaterThan(0);
  });

  it("with heap-trim=false, startServer leaves the process's V8 flags alone: no gc function appears", async () => {
    // NODE_OPTIONS could carry --expose-gc from outside.
    const { stdout } = await promisify(execFile)(process.execPath, [GC_EXPOSURE], { timeout: 20_000, env: { ...process.env, NODE_OPTIONS: "" } });
    expect(JSON.parse(stdout)).toEqual(["undefined", "function"]);
  });
});
