// Revocations shared by the nodes behind one secret, through Redis (redis-url). A revoked REST
// username is kept as a key that expires with the credential, and announced on a channel: a node
// applies what it hears, and reads the keys again each time it (re)connects, so one that was cut
// off or started later misses none still in force. Nothing else is shared: quotas stay per node.
import { randomUUID } from "node:crypto";
import { createClient } from "@redis/client";
import type { Logger } from "pino";
import { redactRedisUrl } from "../config/value-parsers.js";

export const REVOKED_KEY_PREFIX = "turnpike:revoked:";
export const REVOKED_CHANNEL = "turnpike:revoked";
/** A Redis that does not answer within this is taken as down: a revoke request is not held longer. */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 5000;
const RECONNECT_MAX_DELAY_MS = 5000;
/** Both connections can become ready together: one read of the keys serves them. */
const RELOAD_DELAY_MS = 50;

/** "connecting": not yet connected since the start; "down": lost, reconnecting. */
export type SharingState = "connecting" | "ready" | "down";

export interface SharedRevocations {
  readonly state: SharingState;
  /** Stores and announces a revocation until `untilMs`; rejects, saying why, when Redis cannot take it. */
  share(username: string, untilMs: number): Promise<void>;
  /** Settles once the revocations in force have been read (after a connection); for tests. */
  loaded(): Promise<void>;
  close(): Promise<void>;
}

export interface SharedRevocationsOptions {
  readonly url: string;
  readonly log: Logger;
  /** A revocation made on another node, or one in force when this node (re)connects. */
  apply(username: string): void;
  readonly now?: () => number;
}

interface Announcement {
  readonly node: string;
  readonly username: string;
}

export function startSharedRevocations(options: SharedRevocationsOptions): SharedRevocations {
  const { apply } = options;
  // Every line says which Redis, without its password.
  const log = options.log.child({ redis: redactRedisUrl(options.url) });
  const now = options.now ?? Date.now;
  const node = randomUUID();
  const clientOptions = {
    url: options.url,
    // A command while disconnected fails at once instead of waiting for a reconnection.
    disableOfflineQueue: true,
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 6), RECONNECT_MAX_DELAY_MS) },
  };
  const commands = createClient(clientOptions);
  const subscriber = commands.duplicate();
  let state: SharingState = "connecting";
  let closed = false;
  let reloadTimer: NodeJS.Timeout | undefined;
  let loadedOnce: () => void = () => {};
  const firstLoad = new Promise<void>((resolve) => (loadedOnce = resolve));

  // Both connections report every failed attempt; the operator hears once per outage.
  const lost = (error: Error): void => {
    if (closed || state === "down") return;
    const wasConnecting = state === "connecting";
    state = "down";
    log.error(
      { error: error.message },
      wasConnecting
        ? "redis-url cannot be reached: revocations made on other nodes are not applied here, and this node's are not shared, until it can (retrying)"
        : "lost redis-url: revocations made on other nodes are not applied here, and this node's are not shared, until it is back (reconnecting)",
    );
  };
  const ready = (): void => {
    if (closed || !commands.isReady || !subscriber.isReady) return;
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => void reload(), RELOAD_DELAY_MS);
  };
  for (const client of [commands, subscriber]) {
    client.on("error", lost);
    client.on("ready", ready);
  }

  async function reload(): Promise<void> {
    try {
      let count = 0;
      for await (const keys of commands.scanIterator({ MATCH: `${REVOKED_KEY_PREFIX}*`, COUNT: 500 })) {
        for (const key of keys) {
          apply(key.slice(REVOKED_KEY_PREFIX.length));
          count++;
        }
      }
      if (closed) return;
      const was = state;
      state = "ready";
      if (was === "down") log.info({ revocationsInForce: count }, "redis-url is back: revocations are shared again");
      else log.info({ revocationsInForce: count }, "revocations are shared through redis-url");
      loadedOnce();
    } catch (error) {
      // The connection went meanwhile; its return reads them again.
      lost(error instanceof Error ? error : new Error(String(error)));
    }
  }

  const onAnnouncement = (message: string): void => {
    const announced = parseAnnouncement(message);
    if (announced === undefined) {
      log.warn({}, `ignored a message on ${REVOKED_CHANNEL} that is not a revocation`);
      return;
    }
    if (announced.node !== node) apply(announced.username);
  };
  void subscriber
    .connect()
    .then(() => subscriber.subscribe(REVOKED_CHANNEL, onAnnouncement))
    .then(ready)
    .catch(() => {});
  void commands.connect().then(ready, () => {});

  return {
    get state() {
      return state;
    },
    async share(username, untilMs) {
      if (!commands.isReady) throw new Error("redis-url is not connected");
      const message = JSON.stringify({ node, username } satisfies Announcement);
      await withTimeout(
        commands
          .multi()
          .set(`${REVOKED_KEY_PREFIX}${username}`, String(untilMs), { expiration: { type: "PXAT", value: Math.max(untilMs, now() + 1) } })
          .publish(REVOKED_CHANNEL, message)
          .exec(),
      );
    },
    loaded: () => firstLoad,
    async close() {
      closed = true;
      clearTimeout(reloadTimer);
      for (const client of [subscriber, commands]) if (client.isOpen) client.destroy();
    },
  };
}

function parseAnnouncement(message: string): Announcement | undefined {
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== "object" || value === null) return undefined;
    const { node, username } = value as Record<string, unknown>;
    return typeof node === "string" && typeof username === "string" && username !== "" ? { node, username } : undefined;
  } catch {
    return undefined;
  }
}

async function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis-url did not answer within ${REDIS_COMMAND_TIMEOUT_MS} ms`)), REDIS_COMMAND_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
