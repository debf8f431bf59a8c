// user-quota and total-quota across relay threads, in shared memory: a thread reserves and releases
// under a short lock, with no message to the main thread, so an Allocate never waits on another event
// loop. The table holds one entry per (user, thread): a thread only ever writes its own entries, each
// with single-word stores published last, so a thread that dies mid-way leaves nothing the main
// thread cannot clear by dropping that thread's entries.
import { hash, randomBytes } from "node:crypto";
import type { AllocationQuota } from "../turn/ports.js";
import { effectiveTotalQuota } from "../turn/quota.js";

export type QuotaAnswer = "ok" | "user-quota" | "total-quota";

export interface QuotaLimits {
  readonly userQuota: number;
  readonly totalQuota: number;
  readonly maxBps?: number;
  readonly bpsCapacity?: number;
}

/** What every relay thread is started with (workerData): structured-clonable. */
export interface SharedQuotaBuffers {
  readonly control: SharedArrayBuffer;
  readonly table: SharedArrayBuffer;
  /** Keys the username hash, so that no one can choose a username that lands on another's entry. */
  readonly salt: string;
  readonly threads: number;
}

// Control words.
const LOCK = 0; // 0 free, else the holder: thread index + 1, or threads + 1 for the main thread
const USER_QUOTA = 2;
const TOTAL_QUOTA = 3;
const CAPACITY = 4; // table slots, a power of two
const USED = 5; // slots not empty: live or tombstone
const COMPACTION_ASKED = 6;
const HELD = 8; // + thread index: the allocations that thread holds
// After HELD: one flag per holder (threads, then the main thread), set while it waits for the lock.
// Flags, not a count: a thread killed while waiting would leave a count raised for good.

// Table slot: 64-bit username hash, owner, count.
const STRIDE = 4;
const HASH_LOW = 0;
const HASH_HIGH = 1;
const OWNER = 2; // 0 empty, -1 tombstone, else thread index + 1
const COUNT = 3;
const EMPTY = 0;
const TOMBSTONE = -1;

const INITIAL_CAPACITY = 4096;
/** Room for every allocation total-quota allows (10,000,000) at under half load: address space only until used. */
const MAX_CAPACITY = 1 << 25;
const SPINS_BEFORE_WAIT = 64;
const WAIT_SLICE_MS = 1;
/** A lock held this long means something is wrong; the caller answers 508 rather than stall its thread. */
const LOCK_TIMEOUT_MS = 2_000;
const RETRY_RELEASE_MS = 10;
/**
 * The main thread never waits long: the holder may be a relay thread that has died, and only the
 * main thread's own event loop (the thread's exit event) can break that lock. It retries instead.
 */
const MAIN_LOCK_WAIT_MS = 20;
const MAIN_RETRY_MS = 10;

/** The main thread's side: makes the buffers, sets limits, clears a dead thread's holds, compacts the table. */
export class SharedQuotaLedger {
  readonly buffers: SharedQuotaBuffers;
  private readonly control: Int32Array;
  private readonly table: Int32Array;
  private readonly holder: number;

  constructor(limits: QuotaLimits, threads: number) {
    const control = new SharedArrayBuffer((HELD + threads + threads + 1) * 4);
    const table = new SharedArrayBuffer(INITIAL_CAPACITY * STRIDE * 4, { maxByteLength: MAX_CAPACITY * STRIDE * 4 });
    this.buffers = { control, table, salt: randomBytes(16).toString("hex"), threads };
    this.control = new Int32Array(control);
    this.table = new Int32Array(table);
    this.holder = threads + 1;
    Atomics.store(this.control, CAPACITY, INITIAL_CAPACITY);
    this.setLimits(limits);
  }

  setLimits(limits: QuotaLimits): void {
    Atomics.store(this.control, USER_QUOTA, limits.userQuota);
    Atomics.store(this.control, TOTAL_QUOTA, effectiveTotalQuota(limits));
  }

  /** Allocations held across all threads. */
  get total(): number {
    return heldTotal(this.control, this.buffers.threads);
  }

  /**
   * A relay thread has exited: everything it held is free again, a lock it died holding included.
   * Settles once done; start the thread's replacement (same index) only then.
   */
  async releaseThread(index: number): Promise<void> {
    const owner = index + 1;
    Atomics.compareExchange(this.control, LOCK, owner, 0);
    Atomics.store(this.control, waitingFlag(this.buffers.threads, index), 0);
    const clear = (): void => {
      const capacity = Atomics.load(this.control, CAPACITY);
      for (let slot = 0; slot < capacity; slot++) {
        const base = slot * STRIDE;
        if (Atomics.load(this.table, base + OWNER) !== owner) continue;
        Atomics.store(this.table, base + COUNT, 0);
        Atomics.store(this.table, base + OWNER, TOMBSTONE);
      }
      Atomics.store(this.control, HELD + index, 0);
    };
    while (!this.tryWithLock(clear)) await sleep(MAIN_RETRY_MS);
    // It may have died between asking for compaction and saying so.
    if (Atomics.load(this.control, USED) > Atomics.load(this.control, CAPACITY) / 2) this.compact();
  }

  /**
   * Rebuilds the table without tombstones, larger (by powers of two) while live entries would fill
   * more than a quarter of it. Relay threads ask for this (see `onCompactionWanted`) when half the
   * slots are used. Retried shortly if the lock is busy.
   */
  compact(): void {
    if (!this.tryWithLock(() => this.rebuild())) setTimeout(() => this.compact(), MAIN_RETRY_MS).unref();
  }

  private rebuild(): void {
    const { table } = this;
    const capacity = Atomics.load(this.control, CAPACITY);
    const isLive = (base: number): boolean => table[base + OWNER]! > 0 && table[base + COUNT]! > 0;
    let entries = 0;
    for (let slot = 0; slot < capacity; slot++) if (isLive(slot * STRIDE)) entries++;
    const live = new Int32Array(entries * STRIDE);
    for (let slot = 0, copied = 0; slot < capacity; slot++) {
      const base = slot * STRIDE;
      if (isLive(base)) live.set(table.subarray(base, base + STRIDE), copied++ * STRIDE);
    }
    let next = capacity;
    while (entries * 4 > next && next < MAX_CAPACITY) next *= 2;
    if (next > capacity) this.buffers.table.grow(next * STRIDE * 4);
    table.fill(0, 0, next * STRIDE);
    const mask = next - 1;
    for (let entry = 0; entry < entries; entry++) {
      const from = entry * STRIDE;
      let slot = live[from + HASH_LOW]! & mask;
      while (table[slot * STRIDE + OWNER] !== EMPTY) slot = (slot + 1) & mask;
      table.set(live.subarray(from, from + STRIDE), slot * STRIDE);
    }
    Atomics.store(this.control, CAPACITY, next);
    Atomics.store(this.control, USED, entries);
    Atomics.store(this.control, COMPACTION_ASKED, 0);
  }

  private tryWithLock(work: () => void): boolean {
    if (!acquire(this.control, this.holder, MAIN_LOCK_WAIT_MS, this.buffers.threads)) return false;
    try {
      work();
    } finally {
      release(this.control, this.buffers.threads);
    }
    return true;
  }
}

/**
 * A relay thread's side: the AllocationQuota its allocations reserve from. `onCompactionWanted` is
 * called (at most once until the main thread compacts) when half the table's slots are used.
 */
export function attachSharedQuota(buffers: SharedQuotaBuffers, threadIndex: number, onCompactionWanted: () => void): AllocationQuota {
  const control = new Int32Array(buffers.control);
  const table = new Int32Array(buffers.table); // tracks the buffer's length as the main thread grows it
  const owner = threadIndex + 1;
  const held = HELD + threadIndex;

  function reserve(username: string): QuotaAnswer {
    const digest = usernameHash(buffers.salt, username);
    const low = digest.readInt32LE(0);
    const high = digest.readInt32LE(4);
    if (!acquire(control, owner, LOCK_TIMEOUT_MS, buffers.threads)) return "total-quota";
    try {
      const capacity = control[CAPACITY]!;
      const mask = capacity - 1;
      let userHeld = 0;
      let own = -1;
      let free = -1;
      let slot = low & mask;
      for (let probes = 0; probes < capacity; probes++, slot = (slot + 1) & mask) {
        const base = slot * STRIDE;
        const slotOwner = table[base + OWNER]!;
        if (slotOwner === EMPTY) {
          if (free < 0) free = slot;
          break;
        }
        if (slotOwner === TOMBSTONE) {
          if (free < 0) free = slot;
          continue;
        }
        if (table[base + HASH_LOW] !== low || table[base + HASH_HIGH] !== high) continue;
        userHeld += table[base + COUNT]!;
        if (slotOwner === owner) own = slot;
      }
      // RFC 8656 §7.2: the per-user quota answers 486; the server's capacity answers 508.
      if (userHeld >= control[USER_QUOTA]!) return "user-quota";
      if (heldTotal(control, buffers.threads) >= control[TOTAL_QUOTA]!) return "total-quota";
      if (own >= 0) {
        Atomics.add(table, own * STRIDE + COUNT, 1);
      } else {
        if (free < 0) return "total-quota"; // every slot taken: the main thread has not compacted in time
        const base = free * STRIDE;
        const wasEmpty = table[base + OWNER] === EMPTY;
        table[base + HASH_LOW] = low;
        table[base + HASH_HIGH] = high;
        table[base + COUNT] = 1;
        Atomics.store(table, base + OWNER, owner);
        if (wasEmpty && Atomics.add(control, USED, 1) + 1 > capacity / 2 && Atomics.compareExchange(control, COMPACTION_ASKED, 0, 1) === 0) {
          onCompactionWanted();
        }
      }
      Atomics.add(control, held, 1);
      return "ok";
    } finally {
      release(control, buffers.threads);
    }
  }

  function releaseOne(username: string): boolean {
    const digest = usernameHash(buffers.salt, username);
    const low = digest.readInt32LE(0);
    const high = digest.readInt32LE(4);
    if (!acquire(control, owner, LOCK_TIMEOUT_MS, buffers.threads)) return false;
    try {
      const capacity = control[CAPACITY]!;
      const mask = capacity - 1;
      let slot = low & mask;
      for (let probes = 0; probes < capacity; probes++, slot = (slot + 1) & mask) {
        const base = slot * STRIDE;
        const slotOwner = table[base + OWNER]!;
        if (slotOwner === EMPTY) return true;
        if (slotOwner !== owner || table[base + HASH_LOW] !== low || table[base + HASH_HIGH] !== high) continue;
        if (Atomics.sub(table, base + COUNT, 1) === 1) Atomics.store(table, base + OWNER, TOMBSTONE);
        Atomics.sub(control, held, 1);
        return true;
      }
      return true;
    } finally {
      release(control, buffers.threads);
    }
  }

  function releaseLater(username: string): void {
    // Only a lock held past LOCK_TIMEOUT_MS fails this; the hold is given back as soon as it can be.
    if (!releaseOne(username)) setTimeout(releaseLater, RETRY_RELEASE_MS, username).unref();
  }

  return { reserve: (username) => Promise.resolve(reserve(username)), release: releaseLater };
}

function usernameHash(salt: string, username: string): Buffer {
  return hash("sha256", salt + username, "buffer");
}

function heldTotal(control: Int32Array, threads: number): number {
  let total = 0;
  for (let i = 0; i < threads; i++) total += Atomics.load(control, HELD + i);
  return total;
}

/** The waiting flag of `holder` (1..threads + 1) or of thread `index` (0-based): the same word. */
function waitingFlag(threads: number, index: number): number {
  return HELD + threads + index;
}

function acquire(control: Int32Array, holder: number, timeoutMs: number, threads: number): boolean {
  for (let spin = 0; spin < SPINS_BEFORE_WAIT; spin++) {
    if (Atomics.compareExchange(control, LOCK, 0, holder) === 0) return true;
  }
  const deadline = performance.now() + timeoutMs;
  const flag = waitingFlag(threads, holder - 1);
  Atomics.store(control, flag, 1);
  try {
    for (;;) {
      if (Atomics.compareExchange(control, LOCK, 0, holder) === 0) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      const current = Atomics.load(control, LOCK);
      if (current !== 0) Atomics.wait(control, LOCK, current, Math.min(WAIT_SLICE_MS, left));
    }
  } finally {
    Atomics.store(control, flag, 0);
  }
}

function release(control: Int32Array, threads: number): void {
  Atomics.store(control, LOCK, 0);
  for (let index = 0; index <= threads; index++) {
    if (Atomics.load(control, waitingFlag(threads, index)) !== 0) {
      Atomics.notify(control, LOCK);
      return;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
