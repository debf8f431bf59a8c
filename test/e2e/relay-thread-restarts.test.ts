import { X509Certificate } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import { reloadedConfig } from "../../src/config/kept-until-restart.js";
import { readTlsMaterial } from "../../src/server/relay-node.js";
import { startWorkerPool } from "../../src/server/worker-pool.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { makeSelfSignedCertificate, servedFingerprint } from "../helpers/tls-cert.js";
import { errorCode, TurnRequestBuilder } from "../helpers/turn-messages.js";
import { SocketTurnClient } from "../helpers/turn-socket-client.js";
import { until } from "../helpers/until.js";
import { Method } from "../../src/stun/constants.js";

const config = () =>
  configFromObject({ noApi: true, relayThreads: 2, listeningIps: ["127.0.0.1"], listeningPort: 0, noTcp: true, realm: "example.org", users: ["alice:pw"] });
const BINDING = Buffer.from("000100002112a442000102030405060708090a0b", "hex");
/** Builds unsigned requests (it never learns a nonce): a new client's first Allocate. */
const newClient = new TurnRequestBuilder({ username: "alice", password: "pw", realm: "example.org" });
const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("relay threads at their limits", () => {
  it("keeps the port answering on the thread that runs when thread 0 is not restarted: no reordering empties the group", async () => {
    const logger = createRecordingLogger();
    const pool = await startWorkerPool(config(), 2, logger);
    cleanups.push(() => pool.close());
    const port = pool.listeners[0]!.port;
    const count = (msg: string): number => logger.records.filter((r) => r.msg === msg).length;
    // Nine restarts of thread 1 use up nine of the ten a minute allows.
    for (let restart = 1; restart <= 9; restart++) {
      await pool.terminateThread!(1);
      expect(await until(() => count("relay thread restarted") === restart, 5000)).toBe(true);
      expect(await until(() => count("relay threads' UDP listeners in their places") === restart, 5000)).toBe(true);
    }

    // A connected socket learns of every datagram refused (ICMP port unreachable) as an error.
    const probe = dgram.createSocket("udp4");
    cleanups.push(() => {
      probe.close();
    });
    await new Promise<void>((resolve) => probe.connect(port, "127.0.0.1", () => resolve()));
    let answers = 0;
    let refusedOnceBack = 0;
    let back = false;
    probe.on("message", () => answers++);
    probe.on("error", () => {
      if (back) refusedOnceBack++;
    });
    let probing = true;
    const pump = (async () => {
      for (let sent = 0; probing && sent < 200_000; sent++) {
        back ||= count("relay thread restarted") === 10;
        probe.send(BINDING);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    // Both die; thread 1 is restarted (the tenth), thread 0 is not (the eleventh).
    await pool.terminateThread!(1);
    await pool.terminateThread!(0);
    expect(await until(() => count("relay thread restarted") === 10, 5000)).toBe(true);
    expect(await until(() => count("relay thread keeps failing; not restarting it") === 1, 5000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    probing = false;
    await pump;
    expect(logger.records.find((r) => r.msg === "relay thread keeps failing; not restarting it")?.obj["worker"]).toBe(0);
    expect(refusedOnceBack).toBe(0);
    // And the thread that runs still answers.
    const answered = answers;
    probe.send(BINDING);
    expect(await until(() => answers > answered, 2000)).toBe(true);
  }, 60_000);

  it("ends regrouping at its limit, and starts none again until the threads are back in their places", async () => {
    const logger = createRecordingLogger();
    // Regrouping would end at 1 s; a dead thread comes back 3 s after its death.
    const pool = await startWorkerPool(config(), 2, logger, { regroupingLimitMs: 1000, restartDelayMs: 3000 });
    cleanups.push(() => pool.close());
    const port = pool.listeners[0]!.port;
    const count = (msg: string): number => logger.records.filter((r) => r.msg === msg).length;
    const REGROUPING = "relay threads regrouping: TURN requests from UDP clients a thread does not know go unanswered";
    const REGROUPING_ENDED = "relay threads still regrouping; every request is answered again";
    // The end is logged on this thread before the threads are told of it: no answer can come between.
    const regroupingOn = () => count(REGROUPING) === 1 && count(REGROUPING_ENDED) === 0;
    // New clients: an unsigned Allocate each, sent every 50 ms until answered (401).
    const answered: boolean[] = [];
    let answeredWhileRegrouping = 0;
    let roundsWhileRegrouping = 0;
    const clients = Array.from({ length: 10 }, (_, i) => {
      const socket = dgram.createSocket("udp4");
      socket.on("message", () => {
        answered[i] = true;
        if (regroupingOn()) answeredWhileRegrouping++;
      });
      return socket;
    });
    cleanups.push(() => clients.forEach((socket) => socket.close()));
    let probing = false;
    let probe: Promise<void> = Promise.resolve();
    cleanups.push(async () => {
      probing = false;
      await probe;
    });

    await pool.terminateThread!(1);
    expect(await until(() => count(REGROUPING) === 1, 2000)).toBe(true);
    // The threads hear of it by message, in order: once they have answered a later one, they know.
    await pool.revoke("nobody-at-all");
    probing = true;
    probe = (async () => {
      for (let round = 0; probing && round < 200; round++) {
        if (regroupingOn()) roundsWhileRegrouping++;
        clients.forEach((socket, i) => answered[i] !== true && socket.send(newClient.build(Method.Allocate, [UDP]), port, "127.0.0.1"));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    // The limit ends it, and the new clients are answered, while thread 1 is still down.
    expect(await until(() => count(REGROUPING_ENDED) === 1, 3000)).toBe(true);
    expect(await until(() => answered.filter(Boolean).length === clients.length, 1500)).toBe(true);
    // While regrouping, new clients went unanswered (about ten rounds of requests went out meanwhile).
    expect(roundsWhileRegrouping).toBeGreaterThan(0);
    expect(answeredWhileRegrouping).toBe(0);
    expect(count("relay thread restarted")).toBe(0);

    // Another death before the threads are back starts no regrouping of its own.
    await pool.terminateThread!(0);
    expect(await until(() => count("relay thread exited; restarting it") === 2, 2000)).toBe(true);
    expect(count(REGROUPING)).toBe(1);

    // Once both are back in their places, the next death starts one again.
    expect(await until(() => count("relay threads' UDP listeners in their places") === 1, 8000)).toBe(true);
    await pool.terminateThread!(1);
    expect(await until(() => count(REGROUPING) === 2, 2000)).toBe(true);
  }, 60_000);
});

/** One relay thread, restarted 20 ms after it dies; `lost()` is what the pool's lost settled with, if it has. */
async function quicklyRestartedThread() {
  const logger = createRecordingLogger();
  const pool = await startWorkerPool(config(), 1, logger, { restartDelayMs: 20 });
  cleanups.push(() => pool.close());
  let reason: string | undefined;
  void pool.lost!.then((settled) => (reason = settled));
  const count = (msg: string): number => logger.records.filter((r) => r.msg === msg).length;
  return { pool, count, lost: () => reason };
}

describe("relay threads that all keep dying", () => {
  it("settles the pool's lost once none runs and none will be restarted, and not before", async () => {
    const { pool, count, lost } = await quicklyRestartedThread();
    // Ten restarts a minute are allowed: the eleventh death is the last.
    for (let restart = 1; restart <= 10; restart++) {
      await pool.terminateThread!(0);
      expect(await until(() => count("relay thread restarted") === restart, 5000)).toBe(true);
      expect(lost()).toBeUndefined();
      expect(pool.stats().relayThreadsUp).toBe(1);
    }
    await pool.terminateThread!(0);
    expect(await until(() => lost() !== undefined, 5000)).toBe(true);
    expect(lost()).toBe("every relay thread kept failing");
    expect(pool.stats()).toMatchObject({ relayThreadsUp: 0, relayThreadRestarts: 10 });
    expect(count("no relay thread runs, and none will be restarted")).toBe(1);
  }, 60_000);

  it("restarts a replacement that fails to start, within the limit, and settles lost when none is left", async () => {
    const { pool, count, lost } = await quicklyRestartedThread();
    // The running thread keeps its certificate; a replacement reads the new config, and cannot start.
    await pool.reload({ ...config(), cert: "/nonexistent/cert.pem", pkey: "/nonexistent/key.pem" });
    await pool.terminateThread!(0);
    expect(await until(() => lost() !== undefined, 20_000)).toBe(true);
    expect(count("relay thread could not restart")).toBe(10);
    expect(pool.stats()).toMatchObject({ relayThreadsUp: 0, relayThreadRestarts: 0 });
  }, 60_000);
});

describe("the certificate a restarted relay thread serves", () => {
  it("is the one in force, read by the main thread: TLS turned off by a reload and its files gone, a thread still comes back", async () => {
    const first = makeSelfSignedCertificate();
    cleanups.push(() => first.remove());
    const base = { noApi: true, relayThreads: 2, listeningIps: ["127.0.0.1"], listeningPort: 0, tlsListeningPort: 0, realm: "example.org", users: ["alice:pw"] };
    const started = configFromObject({ ...base, cert: first.certPath, pkey: first.keyPath });
    const logger = createRecordingLogger();
    // As startServer does: the certificate is read once and handed to the pool.
    const tls = await readTlsMaterial(first.certPath, first.keyPath, "cert", "pkey");
    const pool = await startWorkerPool(started, 2, logger, { restartDelayMs: 0, tls });
    cleanups.push(() => pool.close());
    const tlsPort = pool.listeners.find((listener) => listener.transport === "tls")!.port;
    // A reload that turns TLS off waits for the restart (server.reload passes no certificate then), and the files go.
    const reloaded = reloadedConfig(started, configFromObject(base), started);
    expect(reloaded.tlsKept).toBe(true);
    await pool.reload(reloaded.config);
    first.remove();
    await pool.terminateThread!(1);
    expect(await until(() => pool.stats().relayThreadsUp === 2 && pool.stats().relayThreadRestarts === 1, 8_000)).toBe(true);
    expect(logger.records.filter((record) => record.msg.startsWith("relay thread could not"))).toEqual([]);
    const served = new Set<string>();
    for (let i = 0; i < 20; i++) served.add(await servedFingerprint(tlsPort));
    expect(served).toEqual(new Set([new X509Certificate(first.cert).fingerprint256]));
  });
});

describe("a reload that reaches a relay thread while it starts", () => {
  it("is applied once the thread is up: it serves the renewed certificate, not the one it was started with", async () => {
    const [first, renewed] = [makeSelfSignedCertificate(), makeSelfSignedCertificate()];
    cleanups.push(() => first.remove(), () => renewed.remove());
    const base = { noApi: true, relayThreads: 2, listeningIps: ["127.0.0.1"], listeningPort: 0, tlsListeningPort: 0, realm: "example.org", users: ["alice:pw"] };
    const pool = await startWorkerPool(configFromObject({ ...base, cert: first.certPath, pkey: first.keyPath }), 2, createRecordingLogger(), { restartDelayMs: 0 });
    cleanups.push(() => pool.close());
    const tlsPort = pool.listeners.find((listener) => listener.transport === "tls")!.port;
    await pool.terminateThread!(1);
    // The replacement is being spawned and bound now: the reload reaches it before its node is up.
    await new Promise((resolve) => setTimeout(resolve, 15));
    await pool.reload(configFromObject({ ...base, cert: renewed.certPath, pkey: renewed.keyPath }), await readTlsMaterial(renewed.certPath, renewed.keyPath, "cert", "pkey"));
    expect(await until(() => pool.stats().relayThreadsUp === 2, 10_000)).toBe(true);
    const served = new Set<string>();
    // The kernel spreads connections over both threads' listeners by 4-tuple: 40 reach each, as a rule.
    for (let i = 0; i < 40; i++) served.add(await servedFingerprint(tlsPort));
    expect(served).toEqual(new Set([new X509Certificate(renewed.cert).fingerprint256]));
  });
});

describe("a revocation and a relay thread that restarts", () => {
  it("still refuses the user revoked before the thread died: every Allocate gets 401, on either thread", async () => {
    const logger = createRecordingLogger();
    const pool = await startWorkerPool(config(), 2, logger, { restartDelayMs: 0 });
    cleanups.push(() => pool.close());
    const port = pool.listeners.find((listener) => listener.transport === "udp")!.port;
    await pool.revoke("alice");
    await pool.terminateThread!(1);
    expect(await until(() => logger.records.some((r) => r.msg === "relay threads' UDP listeners in their places"), 8_000)).toBe(true);
    // Twenty clients: the kernel hands about half of them to the restarted thread.
    const clients = await Promise.all(Array.from({ length: 20 }, () => SocketTurnClient.udp({ address: "127.0.0.1", port }, { username: "alice", password: "pw", realm: "example.org" })));
    cleanups.push(() => clients.forEach((client) => client.close()));
    const codes = await Promise.all(clients.map(async (client) => errorCode(await client.request(Method.Allocate, [UDP]))));
    expect(codes).toEqual(Array.from({ length: 20 }, () => 401));
  });
});

describe("a revoked static user and a reload", () => {
  // Forty allocations of alice's live at the end: no user quota in the way.
  const base = () => ({ ...config(), userQuota: 0 });
  /** What twenty clients signing as alice get for an Allocate: the kernel hands about half of them to each thread. */
  const allocateAs = async (port: number, password: string): Promise<(number | undefined)[]> => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => SocketTurnClient.udp({ address: "127.0.0.1", port }, { username: "alice", password, realm: "example.org" })));
    try {
      return await Promise.all(clients.map(async (client) => errorCode(await client.request(Method.Allocate, [UDP]))));
    } finally {
      clients.forEach((client) => client.close());
    }
  };
  const refused = Array.from({ length: 20 }, () => 401);
  const served = Array.from({ length: 20 }, () => undefined);
  /** Two relay threads, restarted at once when one dies, with alice revoked. */
  const withAliceRevoked = async () => {
    const logger = createRecordingLogger();
    const pool = await startWorkerPool(configFromObject(base()), 2, logger, { restartDelayMs: 0 });
    cleanups.push(() => pool.close());
    await pool.revoke("alice");
    return { logger, pool, port: pool.listeners.find((listener) => listener.transport === "udp")!.port };
  };

  it("stays refused through a reload that keeps its entry, and is served again once a reload changes its password, on either thread and after a restart", async () => {
    const { logger, pool, port } = await withAliceRevoked();
    await pool.reload(configFromObject({ ...base(), users: ["alice:pw", "bob:other"] }));
    expect(await allocateAs(port, "pw")).toEqual(refused);
    await pool.reload(configFromObject({ ...base(), users: ["alice:pw2"] }));
    expect(await allocateAs(port, "pw2")).toEqual(served);
    await pool.terminateThread!(1);
    expect(await until(() => logger.records.some((r) => r.msg === "relay threads' UDP listeners in their places"), 8_000)).toBe(true);
    expect(await allocateAs(port, "pw2")).toEqual(served);
  });

  it("is served by a thread that was starting when the reload came: the revocation it was spawned with ends with the reload", async () => {
    const { logger, pool, port } = await withAliceRevoked();
    await pool.terminateThread!(1);
    // The replacement is being spawned, with alice revoked: the reload reaches it before its node is up.
    await new Promise((resolve) => setTimeout(resolve, 15));
    await pool.reload(configFromObject({ ...base(), users: ["alice:pw2"] }));
    expect(await until(() => logger.records.some((r) => r.msg === "relay threads' UDP listeners in their places"), 8_000)).toBe(true);
    expect(await allocateAs(port, "pw2")).toEqual(served);
  });
});

describe("TCP connection caps and a relay thread that dies", () => {
  it("gives back the connections the dead thread held: max-tcp-connections admits as many again", async () => {
    const logger = createRecordingLogger();
    const pool = await startWorkerPool(
      configFromObject({ noApi: true, relayThreads: 2, listeningIps: ["127.0.0.1"], listeningPort: 0, noUdp: true, maxTcpConnections: 6, realm: "example.org", users: ["alice:pw"] }),
      2,
      logger,
      { restartDelayMs: 0 },
    );
    cleanups.push(() => pool.close());
    const port = pool.listeners.find((listener) => listener.transport === "tcp")!.port;
    const sockets: net.Socket[] = [];
    cleanups.push(() => sockets.forEach((socket) => socket.destroy()));
    const open = async (count: number, firstHost: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const socket = net.connect({ host: "127.0.0.1", port, localAddress: `127.0.1.${firstHost + i}` });
        socket.on("error", () => {});
        socket.resume();
        sockets.push(socket);
        await new Promise<void>((resolve) => socket.once("connect", () => resolve()).once("error", () => resolve()));
      }
    };
    const stillOpen = async (): Promise<number> => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return sockets.filter((socket) => !socket.closed).length;
    };
    // Twelve clients of their own addresses: six admitted, over both threads.
    await open(12, 1);
    expect(await until(() => sockets.filter((socket) => !socket.closed).length === 6, 5_000)).toBe(true);
    // The kernel may have handed all six to one thread: if thread 1 held none, thread 0 held them all.
    let survivors = 6;
    for (const [restarts, thread] of [1, 0].entries()) {
      await pool.terminateThread!(thread);
      expect(await until(() => pool.stats().relayThreadsUp === 2 && pool.stats().relayThreadRestarts === restarts + 1, 8_000)).toBe(true);
      survivors = await stillOpen();
      if (survivors < 6) break;
    }
    expect(survivors).toBeLessThan(6);
    // The dead thread's connections closed with it and count no more: new ones fill the cap again, and no more.
    await open(12, 101);
    expect(await stillOpen()).toBe(6);
  });
});
