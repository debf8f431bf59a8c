// Nodes behind one secret share revocations through a real redis-server (Debian's package) on loopback.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import { mintRestCredential } from "../../src/credentials/rest-credentials.js";
import { Method, MessageClass } from "../../src/stun/constants.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { REVOKED_KEY } from "../../src/server/shared-revocations.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.js";
import { errorCode } from "../helpers/turn-messages.js";
import { SocketTurnClient } from "../helpers/turn-socket-client.js";
import { until } from "../helpers/until.js";

const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;
const SECRET = "shared-north-secret";
const KEY = "shared-api-key-0123456789";
const REDIS_PASSWORD = "redis-pass-7f3a9c";
const REALM = "example.org";

describe("revocations shared through redis-url", () => {
  let redis: TestRedis;
  const logs = { a: createRecordingLogger(), b: createRecordingLogger(), c: createRecordingLogger() };
  let a: RunningServer;
  let b: RunningServer;
  const started: RunningServer[] = [];

  const start = async (logger: ReturnType<typeof createRecordingLogger>, api: boolean): Promise<RunningServer> => {
    const server = await startServer(
      configFromObject({
        listeningIps: ["127.0.0.1"],
        listeningPort: 0,
        relayThreads: 1,
        realm: REALM,
        useAuthSecret: true,
        staticAuthSecrets: [SECRET],
        redisUrl: redis.url,
        ...(api ? { apiListeningPort: 0, apiKeys: [KEY] } : { noApi: true }),
      }),
      { logger },
    );
    started.push(server);
    return server;
  };
  const udpOf = (server: RunningServer) => ({ address: "127.0.0.1", port: server.listeners.find((l) => l.transport === "udp")!.port });
  const credential = (user: string) => {
    const minted = mintRestCredential({ secret: SECRET, user, ttlSeconds: 600, nowMs: Date.now() });
    return { username: minted.username, password: minted.password, realm: REALM };
  };
  const revokeOnA = (username: string): Promise<Response> =>
    fetch(`http://127.0.0.1:${a.api!.port}/api/v1/credentials/revoke`, {
      method: "POST",
      headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ username }),
    });
  const allocateOn = async (server: RunningServer, credentials: ReturnType<typeof credential>) => {
    const client = await SocketTurnClient.udp(udpOf(server), credentials);
    return { client, answer: await client.request(Method.Allocate, [UDP]) };
  };

  beforeAll(async () => {
    redis = await startTestRedis({ password: REDIS_PASSWORD });
    a = await start(logs.a, true);
    b = await start(logs.b, false);
    expect(await until(() => a.stats().sharedRevocations === "ready" && b.stats().sharedRevocations === "ready", 5000)).toBe(true);
  });

  afterAll(async () => {
    for (const server of started) await server.close();
    await redis?.stop();
    for (const logger of Object.values(logs)) {
      expect(logger.text()).not.toContain(REDIS_PASSWORD);
      expect(logger.text()).not.toContain(SECRET);
    }
  });

  it("a credential revoked on one node ends its allocation on another, which then refuses it (401)", async () => {
    const victim = credential("mallory");
    const bystander = credential("carol");
    const onB = await allocateOn(b, victim);
    const keptOnB = await allocateOn(b, bystander);
    expect(onB.answer.messageClass).toBe(MessageClass.SuccessResponse);
    expect(await until(() => b.stats().allocations === 2, 2000)).toBe(true);

    const response = await revokeOnA(victim.username);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ revoked: victim.username, allocationsEnded: 0, shared: true });

    // B's relay thread reports four times a second.
    expect(await until(() => b.stats().allocations === 1, 2000)).toBe(true);
    expect(errorCode(await onB.client.request(Method.Refresh))).toBe(401);
    const again = await allocateOn(b, victim);
    expect(errorCode(again.answer)).toBe(401);
    expect((await keptOnB.client.request(Method.Refresh)).messageClass).toBe(MessageClass.SuccessResponse);
    for (const c of [onB.client, keptOnB.client, again.client]) c.close();
  });

  it("a node started after a revocation reads it and refuses the credential", async () => {
    const victim = credential("trudy");
    expect((await revokeOnA(victim.username)).status).toBe(200);
    const c = await start(logs.c, false);
    expect(await until(() => c.stats().sharedRevocations === "ready", 5000)).toBe(true);
    const attempt = await allocateOn(c, victim);
    expect(errorCode(attempt.answer)).toBe(401);
    const other = await allocateOn(c, credential("carol"));
    expect(other.answer.messageClass).toBe(MessageClass.SuccessResponse);
    attempt.client.close();
    other.client.close();
    expect(logs.c.records.find((r) => r.msg === "revocations are shared through redis-url")?.obj).toMatchObject({ revocationsInForce: 2, newlyApplied: 2 });
  });

  it("a reconnection reads the revocations in force again, and applies none a second time", async () => {
    const { createClient } = await import("@redis/client");
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      const backLines = () => logs.b.records.filter((r) => r.msg === "redis-url is back: revocations are shared again");
      const before = backLines().length;
      // Both of B's connections (and A's, and the others'): each node reads the set again once back.
      await admin.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"]);
      expect(await until(() => backLines().length > before, 5000)).toBe(true);
      expect(backLines().at(-1)?.obj).toMatchObject({ revocationsInForce: 2, newlyApplied: 0 });
    } finally {
      admin.destroy();
    }
  });

  it("keeps each revocation until its credential expires, and drops those past it", async () => {
    const { createClient } = await import("@redis/client");
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      // One that expired a minute ago, left by a node long gone.
      const stale = `${Math.floor(Date.now() / 1000) - 60}:gone`;
      await client.zAdd(REVOKED_KEY, { score: (Math.floor(Date.now() / 1000) - 60) * 1000, value: stale });
      const minted = mintRestCredential({ secret: SECRET, user: "short", ttlSeconds: 30, nowMs: Date.now() });
      expect((await revokeOnA(minted.username)).status).toBe(200);
      expect(await client.zScore(REVOKED_KEY, minted.username)).toBe(Number(minted.username.split(":")[0]) * 1000);
      expect(await client.zScore(REVOKED_KEY, stale)).toBeNull();
    } finally {
      client.destroy();
    }
  });

  it("with Redis gone: the revoking node still refuses the credential and answers 503; once Redis is back, a revocation reaches every node again", async () => {
    const lostLines = () => logs.a.errors().filter((r) => r.msg.startsWith("lost redis-url")).length;
    const lostBefore = lostLines();
    await redis.stop();
    expect(await until(() => a.stats().sharedRevocations === "down" && b.stats().sharedRevocations === "down", 5000)).toBe(true);
    const errorsBefore = logs.a.errors().length;

    const cutOff = credential("eve");
    const onB = await allocateOn(b, cutOff);
    expect(onB.answer.messageClass).toBe(MessageClass.SuccessResponse);
    const response = await revokeOnA(cutOff.username);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ revoked: cutOff.username, shared: false });
    const onA = await allocateOn(a, cutOff);
    expect(errorCode(onA.answer)).toBe(401);
    onA.client.close();
    // B never heard of it: its allocation runs on.
    expect((await onB.client.request(Method.Refresh)).messageClass).toBe(MessageClass.SuccessResponse);

    // One error line for the outage, not one per reconnection attempt (they come every 100 ms at first).
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(logs.a.errors().length).toBe(errorsBefore);
    expect(lostLines()).toBe(lostBefore + 1);

    await redis.restart();
    expect(await until(() => a.stats().sharedRevocations === "ready" && b.stats().sharedRevocations === "ready", 10_000)).toBe(true);
    expect(logs.b.records.some((r) => r.msg === "redis-url is back: revocations are shared again")).toBe(true);
    const held = b.stats().allocations;
    const retried = await revokeOnA(cutOff.username);
    expect(retried.status).toBe(200);
    expect(await until(() => b.stats().allocations === held - 1, 2000)).toBe(true);
    expect(errorCode(await onB.client.request(Method.Refresh))).toBe(401);
    onB.client.close();
  }, 30_000);
});
