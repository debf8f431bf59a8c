// Revocations shared by the nodes behind one secret, through Redis (redis-url). A revoked REST
// username is kept in one sorted set, scored by its credential's expiry, and announced on a
// channel: a node applies what it hears, and reads the set again each time it (re)connects, so one
// that was cut off or started later misses none still in force. The set, not a key per name, so
// that the read is of the revocations alone, however many keys the Redis holds for others; each
// revocation drops those past their expiry. Nothing else is shared: quotas stay per node.
import { randomUUID } from "node:crypto";
import { createClient, ErrorReply } from "@redis/client";
import type { Logger } from "pino";
import { redactRedisUrl } from "../config/value-parsers.js";

/** The sorted set (usernames scored by expiry, ms) and the channel: one name, two namespaces. */
export const REVOKED_KEY = "turnpike:revoked";
export const REVOKED_CHANNEL = "turnpike:revoked";
/** A Redis that does not answer within this is taken as down: a revoke request is not held longer. */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 5000;
// Short: the client's wait before a reconnection is a timer close() cannot clear (5 s after a refusal).
const RECONNECT_MAX_DELAY_MS = 1000;
// A Redis that goes silent (partitioned, stopped) is noticed within this, not when TCP keepalive gives up.
const PING_INTERVAL_MS = 1000;
const SOCKET_TIMEOUT_MS = 4000;
/** Both connections can become ready together: one read of the set serves them. */
const RELOAD_DELAY_MS = 50;
/** After anything Redis refused (NOPERM: an ACL): a SUBSCRIBE, the read of the set, a connection whose resubscription it denied. */
const RETRY_REFUSED_MS = 5000;
/** After one that failed otherwise while connected (LOADING after a restart, a timeout). */
const RETRY_MS = 1000;

/** "connecting": not yet connected since the start; "down": lost, refused, or not subscribed; both retry. */
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
  /** A revocation made on another node, or one in force when this node (re)connects; false when it was applied here already. */
  apply(username: string): boolean;
  readonly now?: () => number;
}

interface Announcement {
  readonly node: string;
  /** Redis delivers a channel's messages to every database's subscribers: each names its set's. */
  readonly db: number;
  readonly username: string;
}

/** Throws (with a message that holds no password) when the client cannot be made from `url`. */
export function startSharedRevocations(options: SharedRevocationsOptions): SharedRevocations {
  const { apply } = options;
  // Every line says which Redis, without its credentials.
  const log = options.log.child({ redis: redactRedisUrl(options.url) });
  const now = options.now ?? Date.now;
  const node = randomUUID();
  const db = databaseOf(options.url);
  const clientOptions = {
    url: options.url,
    // A command while disconnected fails at once instead of waiting for a reconnection.
    disableOfflineQueue: true,
    // No CLIENT SETINFO in the handshake: the README's ACL does not allow it.
    disableClientInfo: true,
    pingInterval: PING_INTERVAL_MS,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      // A connection Redis refuses (its resubscription denied) is not tried again at once.
      reconnectStrategy: (retries: number, cause: Error) => (isRefusal(cause) ? RETRY_REFUSED_MS : Math.min(100 * 2 ** Math.min(retries, 6), RECONNECT_MAX_DELAY_MS)),
    },
  };
  const commands = createClient(clientOptions);
  const subscriber = commands.duplicate();
  let state: SharingState = "connecting";
  let closed = false;
  // The client resubscribes after a reconnection only to a channel whose SUBSCRIBE Redis confirmed.
  let subscribed = false;
  let subscribing = false;
  let reloadTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let refusalSaid = false;
  let everReady = false;
  let loadedOnce: () => void = () => {};
  const firstLoad = new Promise<void>((resolve) => (loadedOnce = resolve));

  // Bumped by every loss: a read of the set that began before one does not declare the node ready.
  let connection = 0;

  // Both connections report every failed attempt; the operator hears once per outage.
  const lost = (error: Error): void => {
    connection++;
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
  // Redis said no (NOPERM: the user's ACL): said once until the node is ready again.
  const refused = (what: string, error: Error): void => {
    connection++;
    if (closed) return;
    state = "down";
    if (!refusalSaid) log.error({ error: error.message }, `redis-url refused ${what}: revocations are not shared until it allows it (retrying every ${RETRY_REFUSED_MS / 1000} s)`);
    refusalSaid = true;
  };
  // Connected, but a SUBSCRIBE or the read of the set failed: refused, or not yet possible
  // (LOADING, a timeout), like a loss. Tried again while connected.
  const failedWhileConnected = (what: string, error: unknown): void => {
    const refusal = isRefusal(error);
    if (refusal) {
      refused(what, error);
    } else {
      lost(error instanceof Error ? error : new Error(String(error)));
    }
    clearTimeout(retryTimer);
    retryTimer = setTimeout(ready, refusal ? RETRY_REFUSED_MS : RETRY_MS);
  };
  // An error answer on a live connection is not a loss: a PING the user's ACL does not allow is
  // warned of (once until the node is ready again), LOADING after a restart is not.
  let commandRefusalSaid = false;
  const onError = (client: { readonly isReady: boolean }) => (error: Error): void => {
    if (!(error instanceof ErrorReply)) return lost(error);
    if (!client.isReady) return isRefusal(error) ? refused("the connection", error) : lost(error);
    if (!isRefusal(error) || commandRefusalSaid || closed) return;
    log.warn({ error: error.message }, "redis-url refused a command: see the permissions the README's \"Scaling out\" lists");
    commandRefusalSaid = true;
  };
  const ready = (): void => {
    if (closed || !commands.isReady || !subscriber.isReady) return;
    if (!subscribed) {
      void subscribe();
      return;
    }
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => void reload(), RELOAD_DELAY_MS);
  };
  for (const client of [commands, subscriber]) {
    client.on("error", onError(client));
    client.on("ready", ready);
  }

  async function subscribe(): Promise<void> {
    if (subscribing) return;
    subscribing = true;
    try {
      await withTimeout(subscriber.subscribe(REVOKED_CHANNEL, onAnnouncement));
      subscribed = true;
      ready();
    } catch (error) {
      // A lost connection says so itself, and its return calls ready() again.
      if (subscriber.isReady && !closed) failedWhileConnected(`SUBSCRIBE ${REVOKED_CHANNEL}`, error);
    } finally {
      subscribing = false;
    }
  }

  async function reload(): Promise<void> {
    const began = connection;
    try {
      const usernames = await withTimeout(commands.zRange(REVOKED_KEY, `(${now()}`, "+inf", { BY: "SCORE" }));
      let newlyApplied = 0;
      for (const username of usernames) if (apply(username)) newlyApplied++;
      const count = usernames.length;
      // A loss meanwhile: its return reads them again.
      if (closed || began !== connection || !commands.isReady || !subscriber.isReady) return;
      state = "ready";
      refusalSaid = false;
      commandRefusalSaid = false;
      const wasReady = everReady;
      everReady = true;
      if (wasReady) log.info({ revocationsInForce: count, newlyApplied }, "redis-url is back: revocations are shared again");
      else log.info({ revocationsInForce: count, newlyApplied }, "revocations are shared through redis-url");
      loadedOnce();
    } catch (error) {
      if (closed) return;
      if (commands.isReady) failedWhileConnected(`the read of ${REVOKED_KEY}`, error);
      // Otherwise the connection went meanwhile; its return reads them again.
    }
  }

  const onAnnouncement = (message: string): void => {
    const announced = parseAnnouncement(message);
    if (announced === undefined) {
      log.warn({}, `ignored a message on ${REVOKED_CHANNEL} that is not a revocation`);
      return;
    }
    if (announced.node !== node && announced.db === db) apply(announced.username);
  };
  // Each client's 'ready' (this first one, and every one after a reconnection) calls ready().
  void subscriber.connect().catch(() => {});
  void commands.connect().catch(() => {});

  return {
    get state() {
      return state;
    },
    async share(username, untilMs) {
      if (!commands.isReady) throw new Error("redis-url is not connected");
      const message = JSON.stringify({ node, db, username } satisfies Announcement);
      await withTimeout(
        commands
          .multi()
          .zAdd(REVOKED_KEY, { score: untilMs, value: username })
          .zRemRangeByScore(REVOKED_KEY, "-inf", now())
          .publish(REVOKED_CHANNEL, message)
          .exec(),
      );
    },
    loaded: () => firstLoad,
    async close() {
      closed = true;
      clearTimeout(reloadTimer);
      clearTimeout(retryTimer);
      for (const client of [subscriber, commands]) if (client.isOpen) client.destroy();
    },
  };
}

/** The database number in redis://host/2 (redis-url's parser has checked it), 0 without one. */
function databaseOf(url: string): number {
  return Number(URL.parse(url)?.pathname.slice(1) || 0);
}

/** NOPERM: the user's ACL does not allow a command, a key or the channel. */
function isRefusal(error: unknown): error is ErrorReply {
  return error instanceof ErrorReply && error.message.startsWith("NOPERM");
}

function parseAnnouncement(message: string): Announcement | undefined {
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== "object" || value === null) return undefined;
    const { node, db, username } = value as Record<string, unknown>;
    return typeof node === "string" && typeof db === "number" && typeof username === "string" && username !== "" ? { node, db, username } : undefined;
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
