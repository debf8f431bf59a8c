// Allocations/s and memory per allocation, in one pass: N client sockets allocate (401 round trip, then
// the signed Allocate) with K in flight; each allocation then gets a channel (which installs the
// permission, RFC 8656 §12.2); the server's memory is read while they sit idle; then all are deleted
// (Refresh with lifetime 0) with K in flight, the sockets closed, and the memory read again. A second
// pass of N new clients then allocates and deletes once more, timed only: the same server, warm.
import type { TransportAddress } from "../../src/stun/index.js";
import { loadSideCpu, type LoadProbe } from "./load-probe.js";
import { sleep } from "./timing.js";
import { TurnSession, type LongTermCredentials, type TurnServerAddress } from "./turn-session.js";

export interface AllocationChurnOptions {
  readonly count: number;
  readonly concurrency: number;
  /** Time for the server to settle before memory is read (its sweeper, its allocator). */
  readonly settleMs: number;
  /** No new request is started past this, whatever is left. */
  readonly timeLimitMs: number;
  /** Passes of N allocations and deletions: the first, then more on the same server; the last is reported. */
  readonly passes: number;
}

export interface MemoryReading {
  readonly rssBytes: number;
  readonly heapUsedBytes?: number;
}

/** CPU over one pass's allocating: the server's per allocation, and how busy it and the generator were. */
export interface AllocationPassCpu {
  readonly serverMicrosPerAllocation: number;
  readonly serverCores: number;
  readonly generatorCores: number;
}

/** A pass after the first: timed only. */
export interface PassFigures {
  readonly allocationsPerSecond: number;
  readonly deletionsPerSecond: number;
  readonly allocationCpu: AllocationPassCpu;
}

export interface AllocationChurnResult {
  readonly allocated: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  readonly allocationsPerSecond: number;
  readonly deletionsPerSecond: number;
  readonly allocationCpu: AllocationPassCpu;
  /** The last pass, on a server that has already done N of each per pass before it (JIT compiled, structures grown). */
  readonly lastPass: PassFigures | undefined;
  /** Why the last pass has no figures, when it has none. */
  readonly lastPassProblem: string | undefined;
  readonly idle: MemoryReading;
  readonly loaded: MemoryReading;
  readonly afterDeletion: MemoryReading;
}

const OPEN_BATCH = 500;
const HOSTS_PER_SUBNET = 250;
const SUBNETS_PER_NETWORK = 250;
const CHANNEL_NUMBER = 0x4000;

export async function runAllocationChurn(
  server: TurnServerAddress,
  peer: TransportAddress,
  credentials: LongTermCredentials,
  readMemory: () => Promise<MemoryReading>,
  probe: LoadProbe,
  options: AllocationChurnOptions,
): Promise<AllocationChurnResult> {
  const deadline = performance.now() + options.timeLimitMs;
  const sessions: TurnSession[] = [];
  try {
    sessions.push(...(await connectAll(server, credentials, options.count, 0)));
    const idle = await readMemory();

    const allocating = await allocateAll(sessions, options, deadline, probe);
    const allocated = allocating.succeeded;
    await forEachLimited(allocated, options.concurrency, deadline, (session) => session.channelBind(CHANNEL_NUMBER, peer));
    await sleep(options.settleMs);
    const loaded = await readMemory();

    const deleting = await forEachLimited(allocated, options.concurrency, deadline, (session) => session.refresh(0));
    await closeAll(sessions);
    await sleep(options.settleMs);
    const afterDeletion = await readMemory();
    const last = await timeLaterPasses(server, credentials, probe, options, deadline);

    return {
      allocated: allocated.length,
      failed: sessions.length - allocated.length,
      firstError: allocating.firstError,
      allocationsPerSecond: allocated.length / allocating.seconds,
      deletionsPerSecond: deleting.succeeded.length / deleting.seconds,
      allocationCpu: allocating.cpu,
      lastPass: typeof last === "string" ? undefined : last,
      lastPassProblem: typeof last === "string" ? last : undefined,
      idle,
      loaded,
      afterDeletion,
    };
  } finally {
    await closeAll(sessions);
  }
}

async function connectAll(server: TurnServerAddress, credentials: LongTermCredentials, count: number, firstIndex: number): Promise<TurnSession[]> {
  const sessions: TurnSession[] = [];
  for (let opened = 0; opened < count; opened += OPEN_BATCH) {
    const batch = Math.min(OPEN_BATCH, count - opened);
    const connecting = Array.from({ length: batch }, (_, i) =>
      TurnSession.connect(server, "udp", credentials, { localAddress: clientAddress(firstIndex + opened + i) }),
    );
    sessions.push(...(await Promise.all(connecting)));
  }
  return sessions;
}

/** Passes 2..passes, each with N new clients; the last one's figures, or why a pass has none. */
async function timeLaterPasses(
  server: TurnServerAddress,
  credentials: LongTermCredentials,
  probe: LoadProbe,
  options: AllocationChurnOptions,
  deadline: number,
): Promise<PassFigures | string> {
  let last: PassFigures | string = "no pass after the first";
  for (let pass = 2; pass <= options.passes; pass++) {
    if (performance.now() >= deadline) return `no time left for pass ${pass}`;
    last = await timePass(server, credentials, probe, options, deadline, (pass - 1) * options.count);
    if (typeof last === "string") return `pass ${pass}: ${last}`;
  }
  return last;
}

/** A string saying why when not every allocation and deletion succeeded. */
async function timePass(
  server: TurnServerAddress,
  credentials: LongTermCredentials,
  probe: LoadProbe,
  options: AllocationChurnOptions,
  deadline: number,
  firstIndex: number,
): Promise<PassFigures | string> {
  const sessions = await connectAll(server, credentials, options.count, firstIndex);
  try {
    const allocating = await allocateAll(sessions, options, deadline, probe);
    const deleting = await forEachLimited(allocating.succeeded, options.concurrency, deadline, (session) => session.refresh(0));
    if (allocating.succeeded.length < sessions.length) {
      return `${sessions.length - allocating.succeeded.length} of ${sessions.length} allocations failed (${allocating.firstError ?? "out of time"})`;
    }
    if (deleting.succeeded.length < allocating.succeeded.length) {
      return `${allocating.succeeded.length - deleting.succeeded.length} of ${allocating.succeeded.length} deletions failed (${deleting.firstError ?? "out of time"})`;
    }
    return {
      allocationsPerSecond: allocating.succeeded.length / allocating.seconds,
      deletionsPerSecond: deleting.succeeded.length / deleting.seconds,
      allocationCpu: allocating.cpu,
    };
  } finally {
    await closeAll(sessions);
  }
}

/**
 * Each client from an address of its own, 127.1.0.1, 127.1.0.2, ... (then 127.2.0.1, ...) as real
 * clients come from many addresses: limits per source address (turnpike's unauthorized-ratelimit)
 * then see one request each, and no client 5-tuple can meet one left behind by an earlier load from
 * 127.0.0.1.
 */
function clientAddress(index: number): string {
  const subnet = Math.floor(index / HOSTS_PER_SUBNET);
  return `127.${1 + Math.floor(subnet / SUBNETS_PER_NETWORK)}.${subnet % SUBNETS_PER_NETWORK}.${(index % HOSTS_PER_SUBNET) + 1}`;
}

/** Allocates on every session, K in flight, with the CPU the server and the generator spent meanwhile. */
async function allocateAll(
  sessions: readonly TurnSession[],
  options: AllocationChurnOptions,
  deadline: number,
  probe: LoadProbe,
): Promise<Awaited<ReturnType<typeof forEachLimited<TurnSession>>> & { cpu: AllocationPassCpu }> {
  const begin = await probe.sample();
  const allocating = await forEachLimited(sessions, options.concurrency, deadline, (session) => session.allocate());
  const end = await probe.sample();
  const { serverCores, generatorCores } = loadSideCpu(begin, end, allocating.seconds);
  const serverMicrosPerAllocation = (end.serverCpuMicros - begin.serverCpuMicros) / allocating.succeeded.length;
  return { ...allocating, cpu: { serverMicrosPerAllocation, serverCores, generatorCores } };
}

/** Runs `task` on every item with at most `limit` in flight; the clock runs from the first start to the last end. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  deadline: number,
  task: (item: T) => Promise<unknown>,
): Promise<{ succeeded: T[]; seconds: number; firstError: string | undefined }> {
  const succeeded: T[] = [];
  let firstError: string | undefined;
  let next = 0;
  const startedAt = performance.now();
  const worker = async (): Promise<void> => {
    while (next < items.length && performance.now() < deadline) {
      const item = items[next++]!;
      try {
        await task(item);
        succeeded.push(item);
      } catch (error) {
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return { succeeded, seconds: (performance.now() - startedAt) / 1000, firstError };
}

async function closeAll(sessions: readonly TurnSession[]): Promise<void> {
  await Promise.all(sessions.map((session) => session.close()));
}
