import dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import type { Config } from "../../src/config/config.js";
import { getAttribute } from "../../src/stun/attributes/registry.js";
import { Method, MessageClass } from "../../src/stun/constants.js";
import { startServer, StartupError, type RunningServer } from "../../src/server/server.js";
import { startWorkerPool, type RelayBackend, type WorkerPoolOptions } from "../../src/server/worker-pool.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { decode, errorCode, type Credentials } from "../helpers/turn-messages.js";
import type { AttributeEntry } from "../../src/stun/attributes/registry.js";
import { SocketTurnClient } from "../helpers/turn-socket-client.js";
import { until } from "../helpers/until.js";

// Two relay threads share the listening ports (SO_REUSEPORT); the kernel spreads clients by 4-tuple.
const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;
const credentials = (username: string): Credentials => ({ username, password: "pw", realm: "example.org" });
const config = (overrides: Partial<Config> = {}): Config =>
  configFromObject({
    noApi: true,
    relayThreads: 2,
    listeningIps: ["127.0.0.1"],
    listeningPort: 0,
    noTcp: true,
    realm: "example.org",
    users: ["alice:pw", "bob:pw", "carol:pw", "dave:pw", "erin:pw", "frank:pw"],
    ...overrides,
  });

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function allocateMany(port: number, usernames: readonly string[]): Promise<{ clients: SocketTurnClient[]; codes: (number | undefined)[] }> {
  const clients = await Promise.all(usernames.map((u) => SocketTurnClient.udp({ address: "127.0.0.1", port }, credentials(u))));
  cleanups.push(() => clients.forEach((c) => c.close()));
  const responses = await Promise.all(clients.map((c) => c.request(Method.Allocate, [UDP])));
  return { clients, codes: responses.map((r) => (r.messageClass === MessageClass.SuccessResponse ? 0 : errorCode(r))) };
}

async function start(overrides: Partial<Config> = {}): Promise<{ server: RunningServer; logger: ReturnType<typeof createRecordingLogger>; port: number }> {
  const logger = createRecordingLogger();
  const server = await startServer(config(overrides), { logger });
  cleanups.push(() => server.close());
  return { server, logger, port: server.listeners[0]!.port };
}

describe("relay-threads: several threads behind one port", () => {
  it("spreads clients over both threads, each allocating on its own", async () => {
    const { server, logger, port } = await start();
    expect(server.relayThreads).toBe(2);
    const { codes } = await allocateMany(port, Array.from({ length: 24 }, (_, i) => ["alice", "bob", "carol"][i % 3]!));
    expect(codes.every((c) => c === 0)).toBe(true);
    expect(await until(() => logger.records.filter((r) => r.msg === "allocation created").length === 24, 2000)).toBe(true);
    const threads = new Set(logger.records.filter((r) => r.msg === "allocation created").map((r) => r.obj["worker"]));
    expect(threads).toEqual(new Set([0, 1]));
    expect(await until(() => server.stats().allocations === 24, 2000)).toBe(true);
  });

  it("holds user-quota across threads: exactly user-quota allocations of one user succeed, the rest get 486", async () => {
    const { port } = await start({ userQuota: 3 });
    const { codes } = await allocateMany(port, Array.from({ length: 12 }, () => "alice"));
    expect(codes.filter((c) => c === 0)).toHaveLength(3);
    expect(codes.filter((c) => c === 486)).toHaveLength(9);
  });

  it("holds total-quota across threads: 508 past it, and room again once an allocation goes", async () => {
    const { port } = await start({ totalQuota: 4 });
    const users = ["alice", "bob", "carol", "dave", "erin", "frank"];
    const { clients, codes } = await allocateMany(port, users);
    expect(codes.filter((c) => c === 0)).toHaveLength(4);
    expect(codes.filter((c) => c === 508)).toHaveLength(2);
    const holder = clients[codes.indexOf(0)]!;
    await holder.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }]);
    const waiting = clients[codes.indexOf(508)]!;
    expect((await waiting.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("revokes across threads: every allocation of the user ends, on both threads", async () => {
    const { server, port } = await start();
    const { codes } = await allocateMany(port, [...Array.from({ length: 10 }, () => "alice"), "bob", "bob"]);
    expect(codes.every((c) => c === 0)).toBe(true);
    expect(await server.revoke("alice")).toEqual({ allocationsEnded: 10 });
    expect(await until(() => server.stats().allocations === 2, 1000)).toBe(true);
  });

  it("limits unauthenticated answers per thread (unauthorized-ratelimit), and sums what each thread dropped", async () => {
    const { server, logger, port } = await start();
    const sockets = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const socket = dgram.createSocket("udp4");
        await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
        return socket;
      }),
    );
    cleanups.push(() => sockets.forEach((s) => s.close()));
    let answers = 0;
    for (const socket of sockets) socket.on("message", () => answers++);
    // Allocate request, REQUESTED-TRANSPORT UDP, no credentials: a 401 each, if answered.
    const allocate = Buffer.from("00030008" + "2112a442" + "00".repeat(12) + "00190004" + "11000000", "hex");
    for (let round = 0; round < 20; round++) {
      for (const socket of sockets) {
        allocate.writeUInt32BE(Math.floor(Math.random() * 2 ** 32), 8);
        socket.send(allocate, port, "127.0.0.1");
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const dropLines = () => logger.records.filter((r) => r.msg === "answers to unauthenticated requests dropped (unauthorized-ratelimit)");
    expect(await until(() => dropLines().length === 2, 2000)).toBe(true);
    // Each thread has a limiter of its own: both dropped, and together they answered more than one burst of 200.
    expect(new Set(dropLines().map((r) => r.obj["worker"]))).toEqual(new Set([0, 1]));
    expect(answers).toBeGreaterThan(250);
    // The threads report a few times a second; loopback may lose a few of the 2,000 on its own.
    expect(await until(() => server.stats().unauthenticatedAnswersDropped + answers >= 1900, 2000)).toBe(true);
    expect(server.stats().unauthenticatedAnswersDropped + answers).toBeLessThanOrEqual(2000);
  });

  it("refuses to share its port with another server (a second turnpike gets 'address already in use')", async () => {
    const { port } = await start();
    const attempt = startServer(config({ listeningPort: port }), { logger: createRecordingLogger() });
    await expect(attempt).rejects.toBeInstanceOf(StartupError);
    await expect(attempt).rejects.toThrow(`cannot listen on udp 127.0.0.1:${port}: address already in use`);
  });
});

describe("relay-threads 1", () => {
  it("runs its one relay thread in a worker, as more threads do: its log lines come from worker 0", async () => {
    const { server, logger, port } = await start({ relayThreads: 1 });
    expect(server.relayThreads).toBe(1);
    const { codes } = await allocateMany(port, ["alice", "bob"]);
    expect(codes).toEqual([0, 0]);
    expect(await until(() => logger.records.filter((r) => r.msg === "allocation created").length === 2, 2000)).toBe(true);
    expect(logger.records.filter((r) => r.msg === "allocation created").map((r) => r.obj["worker"])).toEqual([0, 0]);
    expect(await until(() => server.stats().allocations === 2, 2000)).toBe(true);
  });

  it("runs on the caller's thread only when asked (inProcess), which takes exactly one thread and alone takes a manual clock", async () => {
    const logger = createRecordingLogger();
    const inProcess = await startServer(config({ relayThreads: 1 }), { logger, inProcess: true, clock: { now: () => 0 } });
    cleanups.push(() => inProcess.close());
    const { codes } = await allocateMany(inProcess.listeners[0]!.port, ["alice"]);
    expect(codes).toEqual([0]);
    const created = logger.records.find((r) => r.msg === "allocation created");
    expect(created).toBeDefined();
    expect(created!.obj["worker"]).toBeUndefined();
    expect(inProcess.stats().allocations).toBe(1);

    await expect(startServer(config({ relayThreads: 2 }), { logger, inProcess: true })).rejects.toThrow("inProcess runs one relay thread: set relay-threads to 1, not 2");
    await expect(startServer(config({ relayThreads: 1 }), { logger, clock: { now: () => 0 } })).rejects.toThrow("a manual clock needs inProcess");
  });
});

describe("a relay thread that dies", () => {
  it("is restarted; its quota is given back; the port keeps answering throughout", async () => {
    const logger = createRecordingLogger();
    const pool: RelayBackend = await startWorkerPool(config({ totalQuota: 12 }), 2, logger);
    cleanups.push(() => pool.close());
    const port = pool.listeners[0]!.port;
    const { codes } = await allocateMany(port, Array.from({ length: 12 }, (_, i) => ["alice", "bob", "carol", "dave"][i % 4]!));
    expect(codes.every((c) => c === 0)).toBe(true);
    expect(await until(() => pool.stats().allocations === 12, 2000)).toBe(true);
    const onThreadOne = logger.records.filter((r) => r.msg === "allocation created" && r.obj["worker"] === 1).length;

    expect(pool.stats()).toMatchObject({ relayThreadsUp: 2, relayThreadRestarts: 0 });
    await pool.terminateThread!(0);
    expect(pool.stats().relayThreadsUp).toBe(1);
    expect(await until(() => logger.records.some((r) => r.msg === "relay thread restarted"), 5000)).toBe(true);
    expect(await until(() => logger.records.some((r) => r.msg === "relay threads' UDP listeners in their places"), 2000)).toBe(true);
    expect(logger.records.some((r) => r.msg === "relay thread exited; restarting it")).toBe(true);
    expect(pool.stats()).toMatchObject({ relayThreadsUp: 2, relayThreadRestarts: 1 });
    // The dead thread's allocations are gone and their quota is free again: new clients fit.
    expect(await until(() => pool.stats().allocations === onThreadOne, 2000)).toBe(true);
    const again = await allocateMany(port, Array.from({ length: 12 - onThreadOne }, () => "erin"));
    expect(again.codes.every((c) => c === 0)).toBe(true);

    const probe = dgram.createSocket("udp4");
    cleanups.push(() => {
      probe.close();
    });
    const answered = new Promise<boolean>((resolve) => {
      probe.once("message", () => resolve(true));
      setTimeout(() => resolve(false), 2000);
    });
    probe.send(Buffer.from("000100002112a442000102030405060708090a0b", "hex"), port, "127.0.0.1");
    expect(await answered).toBe(true);
  });
});

describe("a relay thread that dies, for /metrics", () => {
  it("keeps its counters in the sums (Prometheus reads a drop as a reset); its gauges go with it", async () => {
    const logger = createRecordingLogger();
    const pool: RelayBackend = await startWorkerPool(config({ userQuota: 2 }), 2, logger);
    cleanups.push(() => pool.close());
    const port = pool.listeners[0]!.port;
    // 8 allocations and 4 answers 486, besides each client's 401 challenge; a Binding each.
    const { clients, codes } = await allocateMany(port, Array.from({ length: 12 }, (_, i) => ["alice", "bob", "carol", "dave"][i % 4]!));
    expect(codes.filter((c) => c === 486)).toHaveLength(4);
    await Promise.all(clients.map((c) => c.request(Method.Binding)));
    expect(await until(() => pool.stats().allocationsCreated === 8 && pool.stats().errorResponses[486] === 4 && pool.stats().bindingRequests === 12, 2000)).toBe(true);
    const before = pool.stats();
    const victim = Number(logger.records.find((r) => r.msg === "allocation created")!.obj["worker"]);
    const onVictim = logger.records.filter((r) => r.msg === "allocation created" && r.obj["worker"] === victim).length;

    const expectCountersKept = (): void => {
      const now = pool.stats();
      expect(now.allocationsCreated).toBeGreaterThanOrEqual(before.allocationsCreated);
      expect(now.bindingRequests).toBeGreaterThanOrEqual(before.bindingRequests);
      for (const [code, count] of Object.entries(before.errorResponses)) expect(now.errorResponses[Number(code)], `error ${code}`).toBeGreaterThanOrEqual(count);
    };
    await pool.terminateThread!(victim);
    expectCountersKept();
    expect(await until(() => pool.stats().relayThreadRestarts === 1 && pool.stats().relayThreadsUp === 2, 5000)).toBe(true);
    expectCountersKept();
    // The dead thread's allocations went with it; the new thread counts from there.
    expect(await until(() => pool.stats().allocations === 8 - onVictim, 2000)).toBe(true);
    // New clients are answered once the threads are back in their places (until then a thread leaves clients it does not know unanswered).
    expect(await until(() => logger.records.some((r) => r.msg === "relay threads' UDP listeners in their places"), 5000)).toBe(true);
    const again = await allocateMany(port, ["erin", "frank"]);
    expect(again.codes).toEqual([0, 0]);
    expect(await until(() => pool.stats().allocationsCreated === 10, 2000)).toBe(true);
  });
});

/** A pool of `threads` with `clients` UDP allocations; `on(thread)` are the clients the kernel gave that thread. */
async function allocatedPool(threads: number, clients: number, options: WorkerPoolOptions = {}) {
  const logger = createRecordingLogger();
  const pool: RelayBackend = await startWorkerPool(config({ userQuota: 100 }), threads, logger, options);
  cleanups.push(() => pool.close());
  const port = pool.listeners[0]!.port;
  const allocated = await allocateMany(port, Array.from({ length: clients }, () => "alice"));
  expect(allocated.codes.every((c) => c === 0)).toBe(true);
  expect(await until(() => logger.records.filter((r) => r.msg === "allocation created").length === clients, 2000)).toBe(true);
  const threadOf = (localPort: number): unknown =>
    logger.records.find((r) => r.msg === "allocation created" && String(r.obj["fiveTuple"]).includes(`127.0.0.1:${localPort} ->`))?.obj["worker"];
  const on = (thread: number): SocketTurnClient[] => allocated.clients.filter((c) => threadOf(c.localPort) === thread);
  return { pool, logger, port, on };
}

/** Once the threads are back in their places, every one of `clients` refreshes its allocation. */
async function expectRefreshed(logger: ReturnType<typeof createRecordingLogger>, clients: readonly SocketTurnClient[]): Promise<void> {
  expect(await until(() => logger.records.some((r) => r.msg === "relay threads' UDP listeners in their places"), 5000)).toBe(true);
  const refreshed = await Promise.all(clients.map((c) => c.request(Method.Refresh, [{ name: "LIFETIME", value: 600 }])));
  expect(refreshed.map((r) => (r.messageClass === MessageClass.SuccessResponse ? 0 : errorCode(r)))).toEqual(clients.map(() => 0));
}

describe("a relay thread that dies, for the threads that live on", () => {
  it.each([0, 1])("leaves the other thread's UDP clients reaching their own thread once thread %i is back", async (victim) => {
    const { pool, logger, on } = await allocatedPool(2, 24);
    const survivors = on(1 - victim);
    expect(survivors.length).toBeGreaterThan(0);
    expect(survivors.length).toBeLessThan(24);
    await pool.terminateThread!(victim);
    await expectRefreshed(logger, survivors);
  });

  it("leaves the third thread's UDP clients reaching it once two that died together are back", async () => {
    const { pool, logger, port, on } = await allocatedPool(3, 36);
    const survivors = on(2);
    expect(survivors.length).toBeGreaterThan(0);
    // Thread 2 ends up first in the group, then 0 and 1 in whichever order they come back.
    await Promise.all([pool.terminateThread!(0), pool.terminateThread!(1)]);
    expect(await until(() => logger.records.filter((r) => r.msg === "relay thread restarted").length === 2, 5000)).toBe(true);
    await expectRefreshed(logger, survivors);
    // New clients allocate on every thread again.
    const again = await allocateMany(port, Array.from({ length: 24 }, () => "bob"));
    expect(again.codes.every((c) => c === 0)).toBe(true);
  });

  it("restarts a thread that throws an uncaught exception, says why, and the other thread's clients go on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "turnpike-crash-"));
    const crash = { CRASH_TRIGGER: join(dir, "now"), CRASH_MARKER: join(dir, "crashed"), CRASH_THREAD: "1" };
    // Relay threads take this process's environment as it is when each starts.
    Object.assign(process.env, crash);
    cleanups.push(() => {
      for (const name of Object.keys(crash)) delete process.env[name];
      rmSync(dir, { recursive: true, force: true });
    });
    const { pool, logger, port, on } = await allocatedPool(2, 24, { workerScript: new URL("./fixtures/crashing-relay-worker.mjs", import.meta.url) });
    const survivors = on(0);
    expect(survivors.length).toBeGreaterThan(0);
    expect(on(1).length).toBeGreaterThan(0);
    const count = (msg: string): number => logger.records.filter((r) => r.msg === msg).length;

    writeFileSync(crash.CRASH_TRIGGER, "");
    expect(await until(() => count("relay thread restarted") === 1, 5000)).toBe(true);
    const failed = logger.records.filter((r) => r.msg === "relay thread failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.obj).toMatchObject({ worker: 1, err: { message: "relay thread crashed on purpose" } });
    expect(logger.records.find((r) => r.msg === "relay thread exited; restarting it")?.obj).toMatchObject({ worker: 1, exitCode: 1 });
    await expectRefreshed(logger, survivors);
    // New clients allocate on both threads again, the replacement included.
    const again = await allocateMany(port, Array.from({ length: 24 }, () => "bob"));
    expect(again.codes.every((c) => c === 0)).toBe(true);
    expect(await until(() => new Set(logger.records.filter((r) => r.msg === "allocation created").slice(24).map((r) => r.obj["worker"])).size === 2, 2000)).toBe(true);
    expect(pool.stats().allocations).toBeGreaterThan(0);
  });
});

/**
 * A request sent again every 200 ms until answered (a client's STUN retransmissions, at a fixed pace),
 * signed again after 401 or 438; its error code, 0 for success.
 */
async function retransmitted(client: SocketTurnClient, method: number, attributes: readonly AttributeEntry[], deadline: number): Promise<number | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const bytes = client.builder.build(method, attributes);
    const transactionId = bytes.subarray(8, 20);
    let answer: Buffer | undefined;
    while (answer === undefined && Date.now() < deadline) {
      client.send(bytes);
      answer = await client.next((f) => f[0]! < 0x40 && f.subarray(8, 20).equals(transactionId), 200);
    }
    if (answer === undefined) throw new Error(`no answer to method ${method}`);
    const response = decode(answer);
    const code = response.messageClass === MessageClass.SuccessResponse ? 0 : errorCode(response);
    if ((code === 401 && client.builder.nonce === undefined) || code === 438) {
      client.builder.learn(response);
      continue;
    }
    return code;
  }
  throw new Error("authentication did not converge");
}

describe("a relay thread that dies, while the threads regroup", () => {
  it("leaves requests from UDP clients a thread does not know unanswered until the group is in order, so that none gets 437 on the wrong thread", async () => {
    const { pool, logger, port, on } = await allocatedPool(3, 36);
    const survivors = [...on(1), ...on(2)];
    const lost = on(0);
    expect(survivors.length).toBeGreaterThan(0);
    expect(lost.length).toBeGreaterThan(0);
    const newcomers = await Promise.all(Array.from({ length: 12 }, () => SocketTurnClient.udp({ address: "127.0.0.1", port }, credentials("bob"))));
    cleanups.push(() => newcomers.forEach((c) => c.close()));

    await pool.terminateThread!(0);
    expect(await until(() => logger.records.some((r) => r.msg === "relay thread exited; restarting it"), 2000)).toBe(true);
    // The threads hear of it by message: give that a moment (the restart alone takes 500 ms).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(logger.records.some((r) => r.msg === "relay thread restarted")).toBe(false);
    const deadline = Date.now() + 8000;
    const [refreshed, lostRefreshed, allocated] = await Promise.all([
      Promise.all(survivors.map((c) => retransmitted(c, Method.Refresh, [{ name: "LIFETIME", value: 600 }], deadline))),
      Promise.all(lost.map((c) => retransmitted(c, Method.Refresh, [{ name: "LIFETIME", value: 600 }], deadline))),
      Promise.all(newcomers.map((c) => retransmitted(c, Method.Allocate, [UDP], deadline))),
    ]);
    // The living threads' clients keep their allocations; the dead thread's learn theirs are gone (437).
    expect(refreshed).toEqual(survivors.map(() => 0));
    expect(lostRefreshed).toEqual(lost.map(() => 437));
    expect(allocated).toEqual(newcomers.map(() => 0));
    // Requests did reach threads that did not know their client, and went unanswered.
    const unanswered = logger.records
      .filter((r) => r.msg === "relay threads regrouped; requests from UDP clients this thread did not know went unanswered meanwhile")
      .reduce((total, r) => total + Number(r.obj["unanswered"]), 0);
    expect(unanswered).toBeGreaterThan(0);
    // Regrouping ended with the threads in their places, not at its time limit.
    expect(logger.records.some((r) => r.msg === "relay threads' UDP listeners in their places")).toBe(true);
    expect(logger.records.some((r) => r.msg === "relay threads still regrouping; every request is answered again")).toBe(false);
    // Every newcomer's allocation is on the thread the kernel now hands it to.
    const again = await Promise.all(newcomers.map((c) => c.request(Method.Refresh, [{ name: "LIFETIME", value: 600 }])));
    expect(again.map((r) => (r.messageClass === MessageClass.SuccessResponse ? 0 : errorCode(r)))).toEqual(newcomers.map(() => 0));
  });
});

describe("EVEN-PORT reservations across relay threads (RFC 8656 §7.2)", () => {
  it("hands the reserved port to the RESERVATION-TOKEN's Allocate whichever thread it reaches", async () => {
    const { logger, port } = await start({ userQuota: 100 });
    const pairs = 16; // each second Allocate reaches the other thread half the time
    for (let i = 0; i < pairs; i++) {
      const first = await SocketTurnClient.udp({ address: "127.0.0.1", port }, credentials("alice"));
      const second = await SocketTurnClient.udp({ address: "127.0.0.1", port }, credentials("bob"));
      cleanups.push(() => {
        first.close();
        second.close();
      });
      const even = await first.request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
      const token = getAttribute(even, "RESERVATION-TOKEN")!;
      const evenPort = getAttribute(even, "XOR-RELAYED-ADDRESS")!.port;
      const claimed = await second.request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]);
      expect(getAttribute(claimed, "XOR-RELAYED-ADDRESS")?.port, `pair ${i}`).toBe(evenPort + 1);
    }
    // Allocations come in pairs (even, then the token's); at least one pair spanned both threads.
    expect(await until(() => logger.records.filter((r) => r.msg === "allocation created").length === 2 * pairs, 2000)).toBe(true);
    const threads = logger.records.filter((r) => r.msg === "allocation created").map((r) => r.obj["worker"]);
    const crossed = Array.from({ length: pairs }, (_, i) => threads[2 * i] !== threads[2 * i + 1]).filter(Boolean).length;
    expect(crossed).toBeGreaterThan(0);
  });
});

describe("EVEN-PORT reservations and the quota relay threads share (RFC 8656 §7.2)", () => {
  it("counts a reservation toward its user's quota, and gives the hold back once, whichever thread claims the token", async () => {
    const pairs = 16;
    const { logger, port } = await start({ userQuota: pairs + 1 });
    const open = async (username: string): Promise<SocketTurnClient> => {
      const client = await SocketTurnClient.udp({ address: "127.0.0.1", port }, credentials(username));
      cleanups.push(() => client.close());
      return client;
    };
    for (let i = 0; i < pairs; i++) {
      const even = await (await open("alice")).request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
      expect(even.messageClass, `pair ${i}`).toBe(MessageClass.SuccessResponse);
      if (i === pairs - 1) {
        // Alice holds her earlier allocations, this one and its reservation: user-quota in all.
        expect(errorCode(await (await open("alice")).request(Method.Allocate, [UDP]))).toBe(486);
      }
      const token = getAttribute(even, "RESERVATION-TOKEN")!;
      const claimed = await (await open("bob")).request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]);
      expect(getAttribute(claimed, "XOR-RELAYED-ADDRESS")?.port, `pair ${i}`).toBe(getAttribute(even, "XOR-RELAYED-ADDRESS")!.port + 1);
    }
    expect(await until(() => logger.records.filter((r) => r.msg === "allocation created").length === 2 * pairs, 2000)).toBe(true);
    const threads = logger.records.filter((r) => r.msg === "allocation created").map((r) => r.obj["worker"]);
    expect(Array.from({ length: pairs }, (_, i) => threads[2 * i] !== threads[2 * i + 1]).some(Boolean)).toBe(true);
    // Alice holds her allocations alone now: exactly one more fits, so every reservation's hold went, and went once.
    const { codes } = await allocateMany(port, ["alice", "alice", "alice"]);
    expect(codes.sort((a, b) => (a ?? -1) - (b ?? -1))).toEqual([0, 486, 486]);
  });

  it("keeps a reservation for its owner when another user at his quota claims its token, whichever thread refuses him; the owner, at her quota too, then takes it", async () => {
    const pairs = 12;
    const { logger, port } = await start({ userQuota: 2 * pairs });
    const open = async (username: string): Promise<SocketTurnClient> => {
      const client = await SocketTurnClient.udp({ address: "127.0.0.1", port }, credentials(username));
      cleanups.push(() => client.close());
      return client;
    };
    const bobs = await allocateMany(port, Array.from({ length: 2 * pairs }, () => "bob"));
    expect(bobs.codes.every((code) => code === 0)).toBe(true);
    /** Which thread made the allocation on this relayed port, or for this client port. */
    const threadOf = (match: (record: { obj: Record<string, unknown> }) => boolean): unknown =>
      logger.records.find((r) => r.msg === "allocation created" && match(r))?.obj["worker"];
    let crossed = 0;
    for (let i = 0; i < pairs; i++) {
      const even = await (await open("alice")).request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
      const token = getAttribute(even, "RESERVATION-TOKEN")!;
      const evenPort = getAttribute(even, "XOR-RELAYED-ADDRESS")!.port;
      const bob = await open("bob");
      expect(errorCode(await bob.request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }])), `pair ${i}`).toBe(486);
      // Given room, the same client (same 5-tuple, same thread) allocates: its log line names the thread that refused it.
      expect((await bobs.clients[i]!.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }])).messageClass).toBe(MessageClass.SuccessResponse);
      expect((await bob.request(Method.Allocate, [UDP])).messageClass, `pair ${i}`).toBe(MessageClass.SuccessResponse);
      const claimed = await (await open("alice")).request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]);
      expect(getAttribute(claimed, "XOR-RELAYED-ADDRESS")?.port, `pair ${i}`).toBe(evenPort + 1);
      const bobsThread = (): unknown => threadOf((r) => String(r.obj["fiveTuple"]).includes(`:${bob.localPort} `));
      expect(await until(() => bobsThread() !== undefined, 2000), `pair ${i}: bob's allocation logged`).toBe(true);
      const evenThread = threadOf((r) => (r.obj["relayedAddresses"] as string[]).includes(`127.0.0.1:${evenPort}`));
      if (evenThread !== bobsThread()) crossed++;
    }
    expect(crossed).toBeGreaterThan(0);
  });
});

describe("a relay thread that dies, in the moment before the others hear of it", () => {
  it("with several threads, a signed Refresh from a UDP client with no allocation anywhere gets its 437 after a 100 ms hold; with one, at once", async () => {
    const elapsedFor437 = async (threads: number): Promise<number> => {
      const { pool, port } = await allocatedPool(threads, 1);
      const client = await SocketTurnClient.udp({ address: "127.0.0.1", port }, credentials("alice"));
      cleanups.push(() => client.close());
      // The unsigned first try gets its 401 at once, and teaches the client the nonce.
      expect(errorCode(await client.request(Method.Refresh, [{ name: "LIFETIME", value: 600 }]))).toBe(437);
      // The quickest of three: a busy machine may stall any one round trip, never shorten a hold.
      let quickest = Infinity;
      for (let attempt = 0; attempt < 3; attempt++) {
        const startedAt = performance.now();
        const code = errorCode(await client.request(Method.Refresh, [{ name: "LIFETIME", value: 600 }]));
        quickest = Math.min(quickest, performance.now() - startedAt);
        expect(code).toBe(437);
      }
      await pool.close();
      return quickest;
    };
    expect(await elapsedFor437(2)).toBeGreaterThanOrEqual(95);
    expect(await elapsedFor437(1)).toBeLessThan(95);
  });

  it("answers no 437 to the living threads' UDP clients refreshing all along", async () => {
    const { pool, logger, on } = await allocatedPool(3, 36);
    const survivors = [...on(1), ...on(2)];
    expect(survivors.length).toBeGreaterThan(0);
    let stopAt = Number.POSITIVE_INFINITY;
    const deadline = Date.now() + 10_000;
    const codes: number[] = [];
    const refreshing = survivors.map(async (client) => {
      while (Date.now() < Math.min(stopAt, deadline)) {
        codes.push((await retransmitted(client, Method.Refresh, [{ name: "LIFETIME", value: 600 }], deadline)) ?? -1);
      }
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await pool.terminateThread!(0);
      expect(await until(() => logger.records.some((r) => r.msg === "relay threads' UDP listeners in their places"), 5000)).toBe(true);
      stopAt = Date.now() + 200;
    } finally {
      stopAt = Math.min(stopAt, Date.now() + 200);
      await Promise.allSettled(refreshing);
    }
    await Promise.all(refreshing);
    expect(codes.length).toBeGreaterThan(survivors.length * 10);
    expect(codes.filter((code) => code !== 0)).toEqual([]);
  });
});

describe("relay ports free across threads and relay addresses", () => {
  it("counts each address's ports once, whichever thread holds them: ten on each of two addresses leave the span less ten", async () => {
    const pool = await startWorkerPool(config({ listeningIps: ["127.0.0.1", "::1"], minPort: 50_500, maxPort: 50_599, userQuota: 0 }), 2, createRecordingLogger());
    cleanups.push(() => pool.close());
    const port = pool.listeners.find((listener) => listener.transport === "udp" && listener.address === "127.0.0.1")!.port;
    // Twenty clients of their own ports: the kernel hands about half to each thread, each asking for one family.
    const clients = await Promise.all(Array.from({ length: 20 }, () => SocketTurnClient.udp({ address: "127.0.0.1", port }, credentials("alice"))));
    cleanups.push(() => clients.forEach((client) => client.close()));
    const codes = await Promise.all(
      clients.map(async (client, i) => errorCode(await client.request(Method.Allocate, [UDP, { name: "REQUESTED-ADDRESS-FAMILY", value: i % 2 === 0 ? 1 : 2 }]))),
    );
    expect(codes).toEqual(Array.from({ length: 20 }, () => undefined));
    expect(pool.stats().relayPortsFree).toBe(100 - 10);
  });
});
