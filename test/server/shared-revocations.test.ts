import { createClient } from "@redis/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { REVOKED_CHANNEL, REVOKED_KEY, startSharedRevocations, type SharedRevocations } from "../../src/server/shared-revocations.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { freePort } from "../helpers/processes.js";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.js";
import { until } from "../helpers/until.js";

describe("shared revocations (a real redis-server on loopback)", () => {
  let redis: TestRedis;
  const open: SharedRevocations[] = [];
  const start = (url = redis.url) => {
    const log = createRecordingLogger();
    const applied: string[] = [];
    const sharing = startSharedRevocations({ url, log, apply: (username) => applied.push(username) > 0 });
    open.push(sharing);
    return { sharing, applied, log };
  };

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterEach(async () => {
    for (const sharing of open.splice(0)) await sharing.close();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  type Admin = { sendCommand(args: string[]): Promise<unknown> };
  const withAdmin = async (use: (admin: Admin) => Promise<void>): Promise<void> => {
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      await use(admin);
    } finally {
      admin.destroy();
    }
  };
  /** A Redis user `name` with these ACL rules (and password pw-<name>) for the test's length: its URL, and a way to change its rules. */
  const withAclUser = (name: string, rules: string[], use: (url: string, setRules: (...more: string[]) => Promise<unknown>, admin: Admin) => Promise<void>): Promise<void> =>
    withAdmin(async (admin) => {
      await admin.sendCommand(["ACL", "SETUSER", name, "on", `>pw-${name}`, ...rules]);
      try {
        await use(`redis://${name}:pw-${name}@127.0.0.1:${redis.port}`, (...more) => admin.sendCommand(["ACL", "SETUSER", name, ...more]), admin);
      } finally {
        await admin.sendCommand(["ACL", "DELUSER", name]);
      }
    });

  it("reads the revocations in force when it connects", async () => {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      await client.zAdd(REVOKED_KEY, [
        { score: 1_900_000_000_000, value: "1900000000:erin" },
        // Past its expiry: not applied.
        { score: 1_000_000_000_000, value: "1000000000:old" },
      ]);
    } finally {
      client.destroy();
    }
    const node = start();
    await node.sharing.loaded();
    expect(node.applied).toEqual(["1900000000:erin"]);
    expect(node.sharing.state).toBe("ready");
  });

  it("applies another node's revocation, not its own a second time", async () => {
    const one = start();
    const two = start();
    await Promise.all([one.sharing.loaded(), two.sharing.loaded()]);
    await one.sharing.share("1900000000:alice", 1_900_000_000_000);
    expect(await until(() => two.applied.includes("1900000000:alice"), 2000)).toBe(true);
    // Its own announcement comes back to it on the channel; the revocation was already applied where it was made.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(one.applied).not.toContain("1900000000:alice");
  });

  it("keeps deployments on different databases of one Redis apart (the channel is not per database)", async () => {
    const onDb1 = start(`${redis.url}/1`);
    const onDb0 = start(redis.url);
    const alsoOnDb1 = start(`${redis.url}/1`);
    await Promise.all([onDb1.sharing.loaded(), onDb0.sharing.loaded(), alsoOnDb1.sharing.loaded()]);
    const fromDb0 = onDb0.applied.length;
    await onDb1.sharing.share("1900000000:ivan", 1_900_000_000_000);
    expect(await until(() => alsoOnDb1.applied.includes("1900000000:ivan"), 2000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(onDb0.applied.slice(fromDb0)).toEqual([]);
  });

  it("ignores a message on the channel that is not a revocation, with a warning", async () => {
    const node = start();
    await node.sharing.loaded();
    // What it read from the keys in force (the earlier tests' revocations) came first.
    const fromKeys = node.applied.length;
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      for (const message of ["not json", "{}", JSON.stringify({ node: "x", db: 0, username: "" }), JSON.stringify({ node: "x", username: "1900000000:no-db" }), "[1,2]"]) {
        await client.publish(REVOKED_CHANNEL, message);
      }
      // Another database's deployment on the same Redis: not ours.
      await client.publish(REVOKED_CHANNEL, JSON.stringify({ node: "elsewhere", db: 1, username: "1900000000:other-db" }));
      await client.publish(REVOKED_CHANNEL, JSON.stringify({ node: "elsewhere", db: 0, username: "1900000000:bob" }));
    } finally {
      client.destroy();
    }
    expect(await until(() => node.applied.includes("1900000000:bob"), 2000)).toBe(true);
    expect(node.applied.slice(fromKeys)).toEqual(["1900000000:bob"]);
    expect(node.log.records.filter((r) => r.msg === `ignored a message on ${REVOKED_CHANNEL} that is not a revocation`)).toHaveLength(5);
  });

  it("refuses to share at once while it has never connected, and says so in one error line", async () => {
    const nowhere = start(`redis://127.0.0.1:${await freePort()}`);
    await expect(nowhere.sharing.share("1900000000:carol", 1_900_000_000_000)).rejects.toThrow("redis-url is not connected");
    expect(await until(() => nowhere.sharing.state === "down", 2000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(nowhere.log.errors().map((r) => r.msg)).toEqual([
      "redis-url cannot be reached: revocations made on other nodes are not applied here, and this node's are not shared, until it can (retrying)",
    ]);
  });

  it("a Redis user without the channel: down with one error line, and shared once it is granted", async () => {
    await withAclUser("nochannel", ["~*", "resetchannels", "+@all"], async (url, setRules) => {
      const limited = start(url);
      expect(await until(() => limited.sharing.state === "down", 3000)).toBe(true);
      const refusals = () => limited.log.errors().filter((r) => r.msg.startsWith("redis-url refused SUBSCRIBE turnpike:revoked"));
      expect(refusals()).toHaveLength(1);
      expect(limited.log.text()).not.toContain("pw-nochannel");

      await setRules("allchannels");
      // Tried again every 5 s while connected.
      expect(await until(() => limited.sharing.state === "ready", 8000)).toBe(true);
      const other = start();
      await other.sharing.loaded();
      await other.sharing.share("1900000000:frank", 1_900_000_000_000);
      expect(await until(() => limited.applied.includes("1900000000:frank"), 2000)).toBe(true);
      expect(refusals()).toHaveLength(1);
    });
  }, 20_000);

  it("works with no more rights than the README's ACL for a Redis user of its own", async () => {
    // As README.md writes it (Scaling out).
    const readme = ["~turnpike:revoked", "&turnpike:revoked", "-@all", "+zadd", "+zremrangebyscore", "+zrange", "+publish", "+subscribe", "+ping", "+multi", "+exec"];
    await withAclUser("turnpike", readme, async (url) => {
      const one = start(url);
      const two = start(url);
      await Promise.all([one.sharing.loaded(), two.sharing.loaded()]);
      await one.sharing.share("1900000000:grace", 1_900_000_000_000);
      expect(await until(() => two.applied.includes("1900000000:grace"), 2000)).toBe(true);
      // Over a few pings.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect([one.sharing.state, two.sharing.state]).toEqual(["ready", "ready"]);
      expect([...one.log.records, ...two.log.records].filter((r) => r.level === "warn" || r.level === "error")).toEqual([]);
    });
  }, 15_000);

  it("a user without PING stays ready (an error answer on a live connection is not a loss), with one warning", async () => {
    await withAclUser("noping", ["~*", "&*", "+@all", "-ping"], async (url) => {
      const node = start(url);
      await node.sharing.loaded();
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(node.sharing.state).toBe("ready");
      expect(node.log.errors()).toEqual([]);
      expect(node.log.records.filter((r) => r.level === "warn").map((r) => r.msg)).toEqual([
        'redis-url refused a command: see the permissions the README\'s "Scaling out" lists',
      ]);
    });
  }, 15_000);

  it("its channel taken away while ready: says it was refused (once), does not hammer Redis, and is back once it is granted again", async () => {
    await withAclUser("revokedch", ["~*", "&*", "+@all"], async (url, setRules, admin) => {
      const node = start(url);
      await node.sharing.loaded();
      await admin.sendCommand(["ACL", "LOG", "RESET"]);
      // Redis drops the subscriber, whose resubscription is then refused.
      await setRules("resetchannels");
      expect(await until(() => node.log.errors().some((r) => r.msg.startsWith("redis-url refused the connection")), 3000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 4000));
      expect(node.sharing.state).toBe("down");
      expect(node.log.errors().filter((r) => r.msg.startsWith("redis-url refused"))).toHaveLength(1);
      // Tried again every 5 s, not every 100 ms.
      const log = (await admin.sendCommand(["ACL", "LOG"])) as (unknown[] | Record<string, unknown>)[];
      const countOf = (entry: unknown[] | Record<string, unknown>) => Number(Array.isArray(entry) ? entry[entry.indexOf("count") + 1] : entry["count"]);
      const attempts = log.map(countOf).reduce((a, b) => a + b, 0);
      expect(attempts).toBeLessThanOrEqual(3);

      await setRules("allchannels");
      expect(await until(() => node.sharing.state === "ready", 8000)).toBe(true);
    });
  }, 25_000);

  it("a refused read of the set: down with one error line, read again once allowed", async () => {
    await withAclUser("norange", ["~*", "&*", "+@all", "-zrange"], async (url, setRules) => {
      const node = start(url);
      expect(await until(() => node.sharing.state === "down", 3000)).toBe(true);
      expect(node.log.errors().map((r) => r.msg)).toEqual([
        "redis-url refused the read of turnpike:revoked: revocations are not shared until it allows it (retrying every 5 s)",
      ]);
      await setRules("+zrange");
      expect(await until(() => node.sharing.state === "ready", 8000)).toBe(true);
      expect(node.applied.length).toBeGreaterThan(0);
      expect(node.log.errors()).toHaveLength(1);
    });
  }, 15_000);

  it("its subscription killed (CLIENT KILL TYPE pubsub): reconnects and hears announcements again", async () => {
    const node = start();
    const other = start();
    await Promise.all([node.sharing.loaded(), other.sharing.loaded()]);
    await withAdmin(async (admin) => {
      expect(Number(await admin.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"]))).toBeGreaterThanOrEqual(2);
    });
    expect(await until(() => node.sharing.state === "down", 2000)).toBe(true);
    expect(await until(() => node.sharing.state === "ready" && other.sharing.state === "ready", 5000)).toBe(true);
    await other.sharing.share("1900000000:heidi", 1_900_000_000_000);
    expect(await until(() => node.applied.includes("1900000000:heidi"), 2000)).toBe(true);
  }, 15_000);

  it("notices a Redis gone silent within seconds (ping), says so once, and is back when it answers again", async () => {
    const node = start();
    await node.sharing.loaded();
    redis.pause();
    try {
      expect(await until(() => node.sharing.state === "down", 8000)).toBe(true);
    } finally {
      redis.resume();
    }
    expect(node.log.errors().map((r) => r.msg)).toEqual([
      "lost redis-url: revocations made on other nodes are not applied here, and this node's are not shared, until it is back (reconnecting)",
    ]);
    expect(await until(() => node.sharing.state === "ready", 10_000)).toBe(true);
  }, 25_000);

  it("gives up on a Redis that answers nothing within the timeout, so a revoke request is not held", async () => {
    const node = start();
    await node.sharing.loaded();
    redis.pause();
    try {
      const began = Date.now();
      await expect(node.sharing.share("1900000000:dave", 1_900_000_000_000)).rejects.toThrow("redis-url did not answer within 2000 ms");
      expect(Date.now() - began).toBeLessThan(4000);
    } finally {
      redis.resume();
    }
  });
});
