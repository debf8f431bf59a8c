import { Worker } from "node:worker_threads";
import type { Config } from "../config/config.js";
import { forgetChangedStaticUsers, revokedUntil, staticUserChange, staticUserEntries } from "../credentials/live-credential-store.js";
import { expiryPruner } from "./known-revocations.js";
import type { TlsMaterial } from "../transport/stream-listener.js";
import type { Logger } from "../turn/ports.js";
import type { BackendStats, Endpoint, ListenerInfo, RelayStats, ReservationRelease } from "./relay-node.js";
import { ListenError } from "../transport/listen-error.js";
import { probePorts, type ProbeTarget } from "../transport/port-probe.js";
import { clearRelayPortsOf, createRelayPortMapBuffers, mostRelayPortsTaken } from "../transport/relay-port-map.js";
import { resolveListeningAddresses } from "./listening-addresses.js";
import { NO_HEAP_TRIM, startHeapTrim, TRIM_MAX_MAIN_HEAP_BYTES, type RelayThreadsWatch } from "./heap-trim.js";
import { heapSampleOf, sumCounters, sumStats, type RelayCounters } from "./relay-stats.js";
import { SharedQuotaLedger } from "./shared-quota.js";
import { StartupError } from "./startup-error.js";
import type { FromWorker, ToWorker, WorkerStart } from "./worker-messages.js";

/** The relay threads as one: what the server and the API see, whether one thread or several. */
export interface RelayBackend {
  readonly listeners: readonly ListenerInfo[];
  /** Kills one relay thread as a crash would (drills and tests); the pool restarts it. */
  terminateThread?(index: number): Promise<void>;
  stats(): BackendStats;
  /** `tls`: a renewed certificate and key for the TLS listeners, read by the caller. */
  reload(config: Config, tls?: TlsMaterial): Promise<void>;
  revoke(username: string): Promise<number>;
  drain(): void;
  setExtraOwnEndpoints(endpoints: readonly Endpoint[]): void;
  /** Settles, with why, once no relay thread runs and none will be restarted: the server can no longer serve. */
  readonly lost?: Promise<string>;
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;
const REVOKE_TIMEOUT_MS = 2_000;
/** A thread that does not answer within this is passed over in a reordering (with a warning) and runs on. */
const GROUPS_TIMEOUT_MS = 10_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;
const RESTART_DELAY_MS = 500;
/**
 * Regrouping (see startRegrouping) ends this long after it began at the latest, and does not start
 * again until the threads have settled: past it, clients are better answered 437 than not at all.
 */
const REGROUPING_LIMIT_MS = 5_000;
const MAX_RESTARTS_PER_MINUTE = 10;
/**
 * A relay thread's nursery is capped at 6 MiB. Allocations are long-lived, so while they are being
 * made most young objects survive, and V8 then grows the young generation to its default ceiling
 * (about 30 MiB per thread here) and keeps it. Per-packet garbage (dgram's Buffer and rinfo) dies
 * young at any size. Bench: RSS per idle allocation (10,000, 2 threads) 7.96 -> 2.74 KiB, relay
 * rate and CPU per datagram unchanged.
 */
const RELAY_THREAD_LIMITS = { maxYoungGenerationSizeMb: 6 } as const;

/** The worker script: next to this module when built; from dist when this module runs from sources (tests). */
function workerScript(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith(".ts") ? new URL("../../dist/server/relay-worker.js", here) : new URL("./relay-worker.js", here);
}

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  /** Its worker has started and not exited: it serves. */
  running: boolean;
  /** Its worker is the replacement of one that died: if it fails to start, it is restarted in turn. */
  restarting: boolean;
  stats: RelayStats | undefined;
  /** Stats messages received from its worker (one every 250 ms): the heap trim tells a new sample from an old one. */
  statsSent: number;
}

/** Timings, for tests: the constants above unless set. */
export interface WorkerPoolOptions {
  readonly regroupingLimitMs?: number;
  readonly restartDelayMs?: number;
  /** The certificate and key read at start; without them each thread reads cert and pkey itself. */
  readonly tls?: TlsMaterial;
  /** For tests: a script that runs the relay thread's own (one that crashes it, say). */
  readonly workerScript?: URL;
}

/** `count` relay threads sharing the listening ports, quotas and relay ports; a dead thread is restarted. */
export async function startWorkerPool(initial: Config, count: number, log: Logger, options: WorkerPoolOptions = {}): Promise<RelayBackend> {
  const regroupingLimitMs = options.regroupingLimitMs ?? REGROUPING_LIMIT_MS;
  const restartDelayMs = options.restartDelayMs ?? RESTART_DELAY_MS;
  let config = initial;
  /** What a thread started now serves: the start's certificate, then each one a reload brings. */
  let tls = options.tls;
  const ledger = new SharedQuotaLedger(config, count);
  // Kept until restart, so never changed by a reload.
  const connectionLedger = new SharedQuotaLedger({ userQuota: config.maxTcpConnectionsPerIp, totalQuota: config.maxTcpConnections }, count);
  // Every address a relay socket can be bound on (relay-ip, else the listening addresses).
  const relayPorts = createRelayPortMapBuffers([...config.relayIps, ...resolveListeningAddresses(config.listeningIps).map((entry) => entry.address)], count);
  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({ index, worker: undefined, running: false, restarting: false, stats: undefined, statsSent: 0 }));
  /** What threads that exited had counted: /metrics counters must not go down when a thread dies. */
  let retired: RelayCounters = sumCounters([]);
  let fixedPorts: readonly ListenerInfo[] | undefined;
  let extraOwnEndpoints: readonly Endpoint[] = [];
  let shuttingDown = false;
  let draining = false;
  let nextRevokeId = 1;
  /** Every username revoked while it still matters (revokedUntil), for the threads started later. */
  const revoked = new Map<string, number>();
  // Past their credential's expiry they go when a thread starts, and as the list doubles (with
  // redis-url it takes every node's).
  const revokedPruner = expiryPruner(revoked, Date.now);
  const revokeWaiters = new Map<number, { remaining: number; ended: number; resolve: (ended: number) => void }>();
  let nextReleaseId = 1;
  const reloadWaiters = new Map<number, { remaining: number; resolve: () => void }>();
  /** A claim for a RESERVATION-TOKEN, waiting on the other threads' answers. */
  const releaseWaiters = new Map<number, { remaining: number; claimer: Slot; claimId: number; released: ReservationRelease }>();
  const restarts: number[] = [];
  // Threads start, restart and reorder one at a time (see reorderUdpGroups).
  let serial: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const done = serial.then(work);
    serial = done.catch(() => undefined);
    return done;
  };
  let restartsDone = 0;
  let reorderedAfter = 0;
  /** Threads that died and whose restart has not settled yet (up, given up or failed). */
  let pendingRestarts = 0;
  let regrouping = false;
  /** The limit ended the last regrouping: none starts again until the threads settle. */
  let regroupingTimedOut = false;
  let regroupingTimer: NodeJS.Timeout | undefined;
  let settleLost: (reason: string) => void = () => {};
  const lost = new Promise<string>((resolve) => (settleLost = resolve));
  let nextGroupsId = 1;
  const groupsWaiters = new Map<number, { slot: Slot; resolve: (error: string | undefined) => void }>();

  function send(slot: Slot, message: ToWorker): void {
    slot.worker?.postMessage(message);
  }

  /**
   * From a thread's death until the threads that run are back in their places, the kernel hands UDP
   * clients to threads that may not hold their allocations: meanwhile each thread leaves the TURN
   * requests of UDP clients it does not know unanswered, for their retransmissions to reach the
   * right thread afterwards (RelayNode.setRegrouping).
   */
  function startRegrouping(): void {
    if (count === 1 || shuttingDown || regrouping || regroupingTimedOut) return;
    log.info({ limitSeconds: regroupingLimitMs / 1000 }, "relay threads regrouping: TURN requests from UDP clients a thread does not know go unanswered");
    regroupingTimer = setTimeout(() => {
      if (shuttingDown) return;
      log.warn({ limitSeconds: regroupingLimitMs / 1000 }, "relay threads still regrouping; every request is answered again");
      regroupingTimedOut = true;
      announceRegrouping(false);
    }, regroupingLimitMs).unref();
    announceRegrouping(true);
  }

  /** The threads have settled: regrouping is over, and the next death starts one again. */
  function endRegrouping(): void {
    regroupingTimedOut = false;
    clearTimeout(regroupingTimer);
    if (regrouping && !shuttingDown) announceRegrouping(false);
  }

  function announceRegrouping(on: boolean): void {
    regrouping = on;
    for (const slot of slots) send(slot, { type: "regrouping", on });
  }

  /** Once no restart is pending: the threads that run back in their places, and regrouping over. */
  function afterRestarts(): void {
    if (pendingRestarts > 0) return;
    if (!shuttingDown && slots.every((slot) => !slot.running)) {
      log.error({ threads: count }, "no relay thread runs, and none will be restarted");
      settleLost("every relay thread kept failing");
    }
    void inTurn(reorderUdpGroups).then(() => {
      if (pendingRestarts === 0) endRegrouping();
    });
  }

  function relayLog(slot: Slot, line: string): void {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = parsed;
    const message = typeof msg === "string" ? msg : "";
    const entry = { ...fields, worker: slot.index };
    if (typeof level !== "number" || level >= 50) log.error(entry, message);
    else if (level >= 40) log.warn(entry, message);
    else if (level >= 30) log.info(entry, message);
    else if (level >= 20) log.debug(entry, message);
    else log.trace(entry, message);
  }

  function onMessage(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case "log":
        relayLog(slot, message.line);
        break;
      case "reservation-claim": {
        const others = slots.filter((other) => other !== slot && other.worker);
        if (others.length === 0) {
          send(slot, { type: "reservation-answer", id: message.id, released: undefined });
          break;
        }
        const id = nextReleaseId++;
        releaseWaiters.set(id, { remaining: others.length, claimer: slot, claimId: message.id, released: undefined });
        for (const other of others) send(other, { type: "reservation-release", id, token: message.token, claimer: message.claimer });
        // A thread that dies meanwhile never answers: the claim is settled with what came in.
        setTimeout(() => {
          const waiter = releaseWaiters.get(id);
          if (!waiter) return;
          releaseWaiters.delete(id);
          send(waiter.claimer, { type: "reservation-answer", id: waiter.claimId, released: waiter.released });
        }, REVOKE_TIMEOUT_MS).unref();
        break;
      }
      case "reservation-released": {
        const waiter = releaseWaiters.get(message.id);
        if (!waiter) break;
        waiter.released ??= message.released;
        if (--waiter.remaining === 0) {
          releaseWaiters.delete(message.id);
          send(waiter.claimer, { type: "reservation-answer", id: waiter.claimId, released: waiter.released });
        }
        break;
      }
      case "udp-groups-done":
        groupsWaiters.get(message.id)?.resolve(message.error);
        groupsWaiters.delete(message.id);
        break;
      case "reloaded": {
        const waiter = reloadWaiters.get(message.id);
        if (waiter && --waiter.remaining === 0) {
          reloadWaiters.delete(message.id);
          waiter.resolve();
        }
        break;
      }
      case "revoked": {
        const waiter = revokeWaiters.get(message.id);
        if (!waiter) break;
        waiter.ended += message.ended;
        if (--waiter.remaining === 0) {
          revokeWaiters.delete(message.id);
          waiter.resolve(waiter.ended);
        }
        break;
      }
      default:
        break;
    }
  }

  function spawn(slot: Slot): Promise<readonly ListenerInfo[]> {
    revokedPruner.now();
    const workerData: WorkerStart = {
      revoked: [...revoked.keys()],
      ...(tls ? { tls } : {}),
      index: slot.index,
      threadCount: count,
      draining,
      regrouping,
      config,
      extraOwnEndpoints,
      quota: ledger.buffers,
      connections: connectionLedger.buffers,
      relayPorts,
      ...(fixedPorts ? { fixedPorts } : {}),
    };
    const worker = new Worker(options.workerScript ?? workerScript(), { workerData, stdout: false, stderr: false, resourceLimits: RELAY_THREAD_LIMITS });
    slot.worker = worker;
    return new Promise((resolve, reject) => {
      let started = false;
      const timer = setTimeout(() => {
        if (!started) reject(new StartupError(`relay thread ${slot.index} did not start within ${START_TIMEOUT_MS / 1000} s`));
        void worker.terminate();
      }, START_TIMEOUT_MS);
      worker.on("message", (message: FromWorker) => {
        if (message.type === "started") {
          started = true;
          if (slot.worker === worker) slot.running = true;
          clearTimeout(timer);
          resolve(message.listeners);
        } else if (message.type === "start-failed") {
          clearTimeout(timer);
          reject(message.startup ? new StartupError(message.message) : new Error(message.message));
        } else if (message.type === "stats") {
          // Once a thread has exited its counters are retired: figures of it that come late would count twice.
          if (slot.worker === worker) {
            slot.stats = message.stats;
            slot.statsSent++;
          }
        } else {
          onMessage(slot, message);
        }
      });
      worker.on("error", (error) => {
        log.error({ err: error, worker: slot.index }, "relay thread failed");
        if (!started) {
          clearTimeout(timer);
          reject(error);
        }
      });
      worker.on("exit", (code) => {
        if (slot.worker !== worker) return;
        slot.worker = undefined;
        slot.running = false;
        if (slot.stats) retired = sumCounters([retired, slot.stats]);
        slot.stats = undefined;
        clearRelayPortsOf(relayPorts, slot.index);
        for (const [id, waiter] of groupsWaiters) {
          if (waiter.slot !== slot) continue;
          groupsWaiters.delete(id);
          waiter.resolve("the thread exited");
        }
        // A thread that ran is restarted; so is a replacement that failed to start (its outage goes on).
        const restart = !shuttingDown && (started || slot.restarting);
        if (restart && started) {
          log.error({ worker: slot.index, exitCode: code }, "relay thread exited; restarting it");
          pendingRestarts++;
          startRegrouping();
        }
        // Its replacement takes the same index: it may start only once the dead thread's holds (allocations, connections) are gone.
        void Promise.all([ledger.releaseThread(slot.index), connectionLedger.releaseThread(slot.index)]).then(() => {
          if (restart && !shuttingDown) scheduleRestart(slot);
        });
      });
    });
  }

  function scheduleRestart(slot: Slot): void {
    const now = Date.now();
    while (restarts.length > 0 && now - restarts[0]! > 60_000) restarts.shift();
    if (restarts.length >= MAX_RESTARTS_PER_MINUTE) {
      log.error({ worker: slot.index }, "relay thread keeps failing; not restarting it");
      pendingRestarts--;
      afterRestarts();
      return;
    }
    restarts.push(now);
    setTimeout(() => {
      if (shuttingDown) return;
      inTurn(async () => {
        if (shuttingDown) return false;
        slot.restarting = true;
        await spawn(slot);
        return true;
      }).then(
        (restarted) => {
          if (!restarted) return;
          slot.restarting = false;
          restartsDone++;
          log.info({ worker: slot.index }, "relay thread restarted");
          pendingRestarts--;
          afterRestarts();
        },
        (error: unknown) => {
          // Its exit restarts it again, within the limit; a failed start may leave the thread alive.
          log.error({ err: error, worker: slot.index }, "relay thread could not restart");
          void slot.worker?.terminate();
        },
      );
    }, restartDelayMs).unref();
  }

  /**
   * Linux hands a UDP client to the socket at place floor(hash(4-tuple) × n / 2^32) of the n in the
   * port's SO_REUSEPORT group. A closing socket's place goes to the group's last, and a new socket goes
   * last: a thread that dies and comes back reorders the group, and the other threads' clients then
   * reach threads that do not know them (437 to every Refresh). Threads start in index order, so thread
   * i holds place i; after a restart, threads 1 to n-1 leave every UDP group and join again in order,
   * which restores that whatever order the group was in (only thread 0 stays, at place 0).
   */
  async function reorderUdpGroups(): Promise<void> {
    if (count === 1 || pendingRestarts > 0) return; // the last pending restart reorders
    // Thread 0 stays while the others leave: without it the groups would be empty meanwhile.
    if (!slots[0]!.worker) return;
    if (reorderedAfter === restartsDone) return; // done already, after this restart and any before it
    reorderedAfter = restartsDone;
    for (const join of [false, true]) {
      for (const slot of slots.slice(1)) {
        const worker = slot.worker;
        if (!worker || shuttingDown) continue;
        const error = await inGroups(slot, join);
        if (error === undefined || slot.worker !== worker) continue;
        if (error === "no answer") {
          log.warn({ worker: slot.index }, "relay thread did not answer; its UDP listeners may be out of order");
          continue;
        }
        // Out of the groups for good: a restart brings its listeners back.
        log.error({ worker: slot.index, reason: error }, "relay thread could not bind its UDP listeners again; restarting it");
        void worker.terminate();
      }
    }
    if (!shuttingDown && slots.every((slot) => slot.worker)) log.info({ threads: count }, "relay threads' UDP listeners in their places");
  }

  function inGroups(slot: Slot, join: boolean): Promise<string | undefined> {
    const id = nextGroupsId++;
    return new Promise((resolve) => {
      groupsWaiters.set(id, { slot, resolve });
      send(slot, { type: "udp-groups", id, join });
      setTimeout(() => {
        if (groupsWaiters.delete(id)) resolve("no answer");
      }, GROUPS_TIMEOUT_MS).unref();
    });
  }

  async function stopAll(): Promise<void> {
    shuttingDown = true;
    heapTrim.stop();
    clearTimeout(regroupingTimer);
    await Promise.all(
      slots.map(async (slot) => {
        const worker = slot.worker;
        if (!worker) return;
        const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
        worker.postMessage({ type: "shutdown" } satisfies ToWorker);
        const timer = setTimeout(() => void worker.terminate(), SHUTDOWN_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  const stats = (): BackendStats => ({
    ...sumStats(slots.flatMap((slot) => (slot.stats ? [slot.stats] : [])), retired, config),
    // From the shared map rather than the threads' own figures: one address's ports counted once.
    relayPortsFree: config.maxPort - config.minPort + 1 - mostRelayPortsTaken(relayPorts, config.minPort, config.maxPort),
    relayThreadsUp: slots.filter((slot) => slot.running).length,
    relayThreadRestarts: restartsDone,
  });
  const relayThreadsWatch = (): RelayThreadsWatch => ({
    // Every 250 ms for the life of the process: the sum it needs, not stats() (which counts relay ports).
    trims: slots.reduce((sum, slot) => sum + (slot.stats?.heapTrims ?? 0), retired.heapTrims),
    // The threads that serve: one that died and is not restarted does not hold the trim back for good.
    threads: slots.filter((slot) => slot.running).map((slot) => (slot.stats ? { thread: slot.index, sample: heapSampleOf(slot.stats), sent: slot.statsSent } : undefined)),
  });
  // After a relay thread trims its heap, this thread trims its own (its young generation, grown at
  // start, held 12 of the 45 MiB that 10,000 allocations over two threads left behind).
  const heapTrim = config.heapTrim
    ? startHeapTrim({ log, watch: { relays: relayThreadsWatch }, heapBound: { maxUsedBytes: TRIM_MAX_MAIN_HEAP_BYTES } })
    : NO_HEAP_TRIM;

  try {
    fixedPorts = await claimPorts(config);
    for (const slot of slots) await inTurn(() => spawn(slot));
  } catch (error) {
    await stopAll();
    if (error instanceof ListenError) throw new StartupError(error.message, { cause: error });
    throw error;
  }

  return {
    listeners: fixedPorts,
    stats,
    reload(next, renewed) {
      // As each thread's credential store does: a static user whose entry changed or went is revoked no more.
      forgetChangedStaticUsers(revoked, staticUserChange(config.users, next.users));
      config = next;
      if (renewed) tls = renewed;
      ledger.setLimits(next);
      // Settled when every live thread has applied it (a thread that dies meanwhile restarts with it).
      const live = slots.filter((slot) => slot.worker);
      if (live.length === 0) return Promise.resolve();
      const id = nextRevokeId++;
      return new Promise<void>((resolve) => {
        reloadWaiters.set(id, { remaining: live.length, resolve });
        for (const slot of live) send(slot, { type: "reload", id, config: next, tls: renewed });
        setTimeout(() => {
          if (reloadWaiters.delete(id)) resolve();
        }, REVOKE_TIMEOUT_MS).unref();
      });
    },
    revoke(username) {
      // Kept for threads started from now on (a restart): a thread's own list dies with it.
      const until = revokedUntil(username, config.restApiSeparator, (name) => staticUserEntries(config.users).has(name));
      if (until !== undefined) revoked.set(username, until);
      revokedPruner.added();
      const live = slots.filter((slot) => slot.worker);
      if (live.length === 0) return Promise.resolve(0);
      const id = nextRevokeId++;
      return new Promise((resolve) => {
        revokeWaiters.set(id, { remaining: live.length, ended: 0, resolve });
        for (const slot of live) send(slot, { type: "revoke", id, username });
        setTimeout(() => {
          const waiter = revokeWaiters.get(id);
          if (!waiter) return;
          revokeWaiters.delete(id);
          resolve(waiter.ended);
        }, REVOKE_TIMEOUT_MS).unref();
      });
    },
    drain() {
      draining = true;
      for (const slot of slots) send(slot, { type: "drain" });
    },
    setExtraOwnEndpoints(endpoints) {
      extraOwnEndpoints = endpoints;
      for (const slot of slots) send(slot, { type: "own-endpoints", endpoints });
    },
    async terminateThread(index) {
      await slots[index]?.worker?.terminate();
    },
    lost,
    close: stopAll,
  };
}

/** Every listener's port, checked free by an exclusive bind (ephemeral ones resolved) before the threads share it. */
async function claimPorts(config: Config): Promise<readonly ListenerInfo[]> {
  const addresses = resolveListeningAddresses(config.listeningIps);
  if (addresses.length === 0) throw new StartupError("no address to listen on: no interface has one (of the family of a wildcard listening-ip); set listening-ip");
  const tls = config.cert !== undefined && config.pkey !== undefined && !config.noTls;
  const targets: ProbeTarget[] = [];
  for (const { address, family } of addresses) {
    if (!config.noUdp) targets.push({ transport: "udp", address, family, port: config.listeningPort });
    if (!config.noTcp) targets.push({ transport: "tcp", address, family, port: config.listeningPort });
    if (tls) targets.push({ transport: "tls", address, family, port: config.tlsListeningPort });
  }
  if (targets.length === 0) throw new StartupError("every listener is disabled (no-udp, no-tcp and no TLS)");
  return probePorts(targets);
}
