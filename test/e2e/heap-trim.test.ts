import { afterEach, describe, expect, it } from "vitest";
import { TurnSession } from "../../bench/load/turn-session.js";
import { configFromObject } from "../../src/config/config-from-object.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { until } from "../helpers/until.js";

// After a burst of allocations ends, each relay thread gives the heap the burst filled back to the
// system, instead of keeping it for good, and the main thread follows (heap-trim.ts).
const CLIENTS = 3000;
const IN_FLIGHT = 64;
const TRIMMED = "heap trimmed after allocations ended";
const MiB = 1024 * 1024;

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

/** The relay threads' heap size once they have reported twice more (they report every 250 ms). */
async function reportedHeapSize(server: RunningServer): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 600));
  return server.stats().relayHeapSizeBytes;
}

describe("heap trim: the memory of ended allocations goes back to the system", () => {
  it(`${CLIENTS} allocations over two relay threads, deleted: each thread collects once, and the heap the burst grew shrinks back`, async () => {
    const logger = createRecordingLogger();
    const config = configFromObject({
      relayThreads: 2,
      listeningIps: ["127.0.0.1"],
      listeningPort: 0,
      noTcp: true,
      noApi: true,
      realm: "example.org",
      users: ["alice:pw"],
      userQuota: CLIENTS,
      totalQuota: CLIENTS,
    });
    const server = await startServer(config, { logger });
    cleanups.push(() => server.close());
    const port = server.listeners[0]!.port;
    const before = await reportedHeapSize(server);

    const sessions: TurnSession[] = [];
    cleanups.push(() => Promise.all(sessions.map((session) => session.close())).then(() => undefined));
    await inTurns(
      Array.from({ length: CLIENTS }, (_, i) => i),
      IN_FLIGHT,
      async (i) => sessions.push(await TurnSession.connect({ host: "127.0.0.1", port }, "udp", { username: "alice", password: "pw" }, { localAddress: clientAddress(i) })),
    );
    await inTurns(sessions, IN_FLIGHT, (session) => session.allocate());
    expect(await until(() => server.stats().allocations === CLIENTS, 2000)).toBe(true);
    const peak = await reportedHeapSize(server);

    await inTurns(sessions, IN_FLIGHT, (session) => session.refresh(0));
    expect(await until(() => logger.records.filter((r) => r.msg === TRIMMED).length === 3, 5000)).toBe(true);
    const trims = logger.records.filter((r) => r.msg === TRIMMED);
    // Each relay thread once, all its allocations ended (none mid-deletion), then the main thread (no worker field).
    const relayLines = trims.filter((r) => r.obj["worker"] !== undefined);
    expect(new Set(relayLines.map((r) => r.obj["worker"]))).toEqual(new Set([0, 1]));
    expect(relayLines.map((r) => r.obj["allocations"])).toEqual([0, 0]);
    expect(relayLines.reduce((sum, r) => sum + (r.obj["ended"] as number), 0)).toBe(CLIENTS);
    expect(trims.filter((r) => r.obj["worker"] === undefined)).toHaveLength(1);
    expect(await until(() => server.stats().heapTrims === 2, 2000)).toBe(true);

    const after = await reportedHeapSize(server);
    // The burst grew the relay threads' heaps (else this test would show nothing), and most of that went back.
    expect(peak - before).toBeGreaterThan(4 * MiB);
    expect(after - before).toBeLessThan((peak - before) / 4);
    expect(logger.errors()).toEqual([]);
  });
});
