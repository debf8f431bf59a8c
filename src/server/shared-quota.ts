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
const WAITERS = 1;
const USER_QUOTA = 2;
const TOTAL_QUOTA = 3;
const CAPACITY = 4; // table slots, a power of two
const USED = 5; // slots not empty: live or tombstone
const COMPACTION_ASKED = 6;
const HELD = 8; // + thread index: the allocations that thread holds

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

/** The main thread's side: makes the buffers, sets limits, clears a dead thread's holds, compacts the table. */
export class SharedQuotaLedger {
  readonly buffers: SharedQuotaBuffers;
  private readonly control: Int32Array;
  private readonly table: Int32Array;
  private readonly holder: number;

  constructor(limits: QuotaLimits, threads: number) {
    const control = new SharedArrayBuffer((HELD + threads) * 4);
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

  /** A relay thread has exited: everything it held is free again, a lock it died holding included. */
  releaseThread(index: number): void {
    const owner = index + 1;
    Atomics.compareExchange(this.control, LOCK, owner, 0);
    this.withLock(() => {
      const capacity = Atomics.load(this.control, CAPACITY);
      for (let slot = 0; slot < capacity; slot++) {
        const base = slot * STRIDE;
        if (Atomics.load(this.table, base + OWNER) !== owner) continue;
        Atomics.store(this.table, base + COUNT, 0);
        Atomics.store(this.table, base + OWNER, TOMBSTONE);
      }
      Atomics.store(this.control, HELD + index, 0);
    });
    // It may have died between asking for compaction and saying so.
    if (Atomics.load(this.control, USED) > Atomics.load(this.control, CAPACITY) / 2) this.compact();
  }

  /**
   * Rebuilds the table without tombstones, twice as large when live entries fill a quarter of it.
   * Relay threads ask for this (see `onCompactionWanted`) when half the slots are used.
   */
  compact(): void {
    this.withLock(() => {
      const capacity = Atomics.load(this.control, CAPACITY);
      const live: number[] = [];
      for (let slot = 0; slot < capacity; slot++) {
        const base = slot * STRIDE;
        const owner = this.table[base + OWNER]!;
        const count = this.table[base + COUNT]!;
        if (owner > 0 && count > 0) live.push(this.table[base + HASH_LOW]!, this.table[base + HASH_HIGH]!, owner, count);
      }
      const entries = live.length / STRIDE;
      let next = capacity;
      while (entries * 4 > next && next < MAX_CAPACITY) next *= 2;
      if (next > capacity) this.buffers.table.grow(next * STRIDE * 4);
      this.table.fill(0, 0, next * STRIDE);
      const mask = next - 1;
      for (let i = 0; i < live.length; i += STRIDE) {
        let slot = live[i]! & mask;
        while (this.table[slot * STRIDE + OWNER] !== EMPTY) slot = (slot + 1) & mask;
        this.table.set(live.slice(i, i + STRIDE), slot * STRIDE);
      }
      Atomics.store(this.control, CAPACITY, next);
      Atomics.store(this.control, USED, entries);
      Atomics.store(this.control, COMPACTION_ASKED, 0);
    });
  }

  private withLock(work: () => void): void {
    // The main thread may block here: relay threads hold the lock for a few table probes at a time.
    if (!acquire(this.control, this.holder, Number.POSITIVE_INFINITY)) return;
    try {
      work();
    } finally {
      release(this.control);
    }
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
    if (!acquire(control, owner, LOCK_TIMEOUT_MS)) return "total-quota";
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
      release(control);
    }
  }

  function releaseOne(username: string): boolean {
    const digest = usernameHash(buffers.salt, username);
    const low = digest.readInt32LE(0);
    const high = digest.readInt32LE(4);
    if (!acquire(control, owner, LOCK_TIMEOUT_MS)) return false;
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
      release(control);
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

function acquire(control: Int32Array, holder: number, timeoutMs: number): boolean {
  for (let spin = 0; spin < SPINS_BEFORE_WAIT; spin++) {
    if (Atomics.compareExchange(control, LOCK, 0, holder) === 0) return true;
  }
  const deadline = performance.now() + timeoutMs;
  Atomics.add(control, WAITERS, 1);
  try {
    for (;;) {
      if (Atomics.compareExchange(control, LOCK, 0, holder) === 0) return true;
      if (performance.now() >= deadline) return false;
      const current = Atomics.load(control, LOCK);
      if (current !== 0) Atomics.wait(control, LOCK, current, WAIT_SLICE_MS);
    }
  } finally {
    Atomics.sub(control, WAITERS, 1);
  }
}

function release(control: Int32Array): void {
  Atomics.store(control, LOCK, 0);
  if (Atomics.load(control, WAITERS) > 0) Atomics.notify(control, LOCK, 1);
}
