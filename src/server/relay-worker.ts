// Entry point of one relay thread: its own listeners on the shared ports (SO_REUSEPORT), its own
// allocations and relay sockets; quotas and relay ports in memory all threads share; revocation and
// reloads from the main thread.
import { parentPort, workerData } from "node:worker_threads";
import { pino } from "pino";
import { RelayPortMap } from "../transport/relay-port-map.js";
import { REDACTED_PATHS } from "./log-redaction.js";
import type { ReservationClaimer } from "../turn/ports.js";
import { startRelayNode, type RelayNode, type ReservationRelease } from "./relay-node.js";
import { attachSharedQuota } from "./shared-quota.js";
import type { FromWorker, ToWorker, WorkerStart } from "./worker-messages.js";

const STATS_INTERVAL_MS = 250;

const port = parentPort!;
const start = workerData as WorkerStart;
const post = (message: FromWorker): void => port.postMessage(message);

// Log lines go to the main thread, which writes them with its own logger: one stream for the process.
const logger = pino(
  { level: start.config.logLevel, base: { worker: start.index }, redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" } },
  { write: (line: string) => post({ type: "log", line }) },
);

const LOCK_WARNING_INTERVAL_MS = 60_000;
/** A shared table's lock held past its timeout: said at most once a minute. */
function lockWarning(message: string): { lockTimedOut(): void } {
  let lastWarningMs = Number.NEGATIVE_INFINITY;
  return {
    lockTimedOut() {
      const now = Date.now();
      if (now - lastWarningMs < LOCK_WARNING_INTERVAL_MS) return;
      lastWarningMs = now;
      logger.error(message);
    },
  };
}
const quota = attachSharedQuota(start.quota, start.index, lockWarning("the shared quota lock stayed taken for 2 s: Allocates are answered 508 meanwhile"));
const connections = attachSharedQuota(
  start.connections,
  start.index,
  lockWarning("the shared connection count's lock stayed taken for 2 s: TCP and TLS connections are refused meanwhile"),
);

let nextReservationId = 1;
const reservationWaiters = new Map<number, (released: ReservationRelease) => void>();
function releaseReservationElsewhere(token: string, claimer: ReservationClaimer): Promise<ReservationRelease> {
  const id = nextReservationId++;
  return new Promise((resolve) => {
    reservationWaiters.set(id, resolve);
    post({ type: "reservation-claim", id, token, claimer });
  });
}

let node: RelayNode | undefined;
// Changed by messages that may come before the node is up; applied to it once it is.
let draining = start.draining;
let regrouping = start.regrouping;
let extraOwnEndpoints = start.extraOwnEndpoints;
type BeforeStart = Extract<ToWorker, { type: "reload" }> | Extract<ToWorker, { type: "revoke" }>;
/**
 * What came before this thread was up, in order: the revocations it was spawned with, then each
 * reload (its workerData may predate one: a renewed certificate, a removed user) and revocation
 * sent while it started. Applied in that order: a reload that changes a static user ends the
 * user's revocation, and one revoked after it stays revoked.
 */
const beforeStart: BeforeStart[] = start.revoked.map((username) => ({ type: "revoke", id: 0, username }));
port.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "reservation-release":
      post({ type: "reservation-released", id: message.id, released: node?.releaseReservation(message.token, message.claimer) });
      break;
    case "reservation-answer":
      reservationWaiters.get(message.id)?.(message.released);
      reservationWaiters.delete(message.id);
      break;
    case "reload":
      if (node) node.reload(message.config, message.tls);
      else beforeStart.push(message);
      post({ type: "reloaded", id: message.id });
      break;
    case "revoke":
      // A thread still starting holds no allocation; it refuses the user once up.
      if (!node) beforeStart.push(message);
      post({ type: "revoked", id: message.id, ended: node?.revoke(message.username) ?? 0 });
      break;
    case "drain":
      draining = true;
      node?.drain();
      break;
    case "udp-groups":
      void (node?.setUdpInGroups(message.join) ?? Promise.resolve()).then(
        () => post({ type: "udp-groups-done", id: message.id }),
        (error: unknown) => post({ type: "udp-groups-done", id: message.id, error: error instanceof Error ? error.message : String(error) }),
      );
      break;
    case "regrouping":
      regrouping = message.on;
      node?.setRegrouping(message.on);
      break;
    case "own-endpoints":
      extraOwnEndpoints = message.endpoints;
      node?.setExtraOwnEndpoints(message.endpoints);
      break;
    case "shutdown":
      void (async () => {
        clearInterval(statsTimer);
        await node?.close();
        post({ type: "closed" });
        port.close();
      })();
      break;
  }
});

const statsTimer = setInterval(() => {
  if (node) post({ type: "stats", stats: node.stats() });
}, STATS_INTERVAL_MS);

try {
  node = await startRelayNode(start.config, {
    logger,
    reusePort: true,
    threadCount: start.threadCount,
    connectionCount: connections,
    ...(start.fixedPorts ? { fixedPorts: start.fixedPorts } : {}),
    quota,
    releaseReservationElsewhere,
    relayPorts: new RelayPortMap(start.relayPorts, start.index),
    ...(start.tls ? { tls: start.tls } : {}),
  });
  node.setExtraOwnEndpoints(extraOwnEndpoints);
  for (const message of beforeStart) {
    if (message.type === "reload") node.reload(message.config, message.tls);
    else node.revoke(message.username);
  }
  if (draining) node.drain();
  if (regrouping) node.setRegrouping(true);
  post({ type: "stats", stats: node.stats() });
  post({ type: "started", listeners: node.listeners });
} catch (error) {
  clearInterval(statsTimer);
  post({ type: "start-failed", message: error instanceof Error ? error.message : String(error), startup: error instanceof Error && error.name === "StartupError" });
  port.close();
}
