// user-quota and total-quota across relay threads, in shared memory: a thread reserves and releases
// under a short lock, with no message to the main thread, so an Allocate never waits on another event
// loop. The table holds one entry per (user, thread): a thread only writes its own entries, each with
// single-word stores published last, so a thread that dies mid-way leaves nothing the main thread
// cannot clear by dropping that thread's entries. The one write to every entry, a rebuild, works from
// a copy that any thread can finish.
import { hash, randomBytes } from "node:crypto";
import type { AllocationQuota, QuotaAnswer } from "../turn/ports.js";
import { effectiveTotalQuota, quotaAnswer, type QuotaLimits } from "../turn/quota.js";
import { SharedLock } from "./shared-lock.js";

/** What every relay thread is started with (workerData): structured-clonable. */
export interface SharedQuotaBuffers {
  readonly control: SharedArrayBuffer;
  readonly table: SharedArrayBuffer;
  /** Keys the username hash, so that no one can choose a username that lands on another's entry. */
  readonly salt: string;
  readonly threads: number;
}

// Control words. Lock holders: thread index + 1, and threads + 1 for the main thread.
const LOCK = 0;
const USER_QUOTA = 1;
const TOTAL_QUOTA = 2;
const CAPACITY = 3; // table slots, a power of two
const USED = 4; // slots not empty: live or tombstone
/** 1 while the table is rewritten from the copy of its live entries: whoever takes the lock next finishes it. */
const REBUILDING = 5;
const NEXT_CAPACITY = 6;
const COPIED = 7; // live entries in the copy, which lies just past the NEXT_CAPACITY slots
const HELD = 8; // + thread index: the allocations that thread holds; the lock's waiting flags follow

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
/** The table, and past it the copy a rebuild works from: at most total-quota's 10,000,000 entries. */
const MAX_BYTES = (MAX_CAPACITY + MAX_CAPACITY / 2) * STRIDE * 4;
/** A lock held this long means something is wrong; the thread answers 508 rather than stall. */
const LOCK_TIMEOUT_MS = 2_000;
const RETRY_RELEASE_MS = 10;
/**
 * The main thread never sleeps on the lock: the holder may be a relay thread that has died, and only
 * the main thread's own event loop (that thread's exit event) can break its lock. It tries again.
 */
const MAIN_RETRY_MS = 1;

function lockOf(control: Int32Array, threads: number): SharedLock {
  return new SharedLock(control, LOCK, HELD + threads, threads + 1);
}

/** Where a user's entries are, from one probe of its chain: `own` and `free` are slots, -1 for none. */
interface UserScan {
  held: number;
  own: number;
  free: number;
}

/**
 * The table as one thread sees it. Every method runs under the lock. Whichever thread fills half the
 * slots rebuilds the table there and then: waiting for another thread to do it lets the table fill
 * meanwhile, and a full table refuses every new user.
 */
export class QuotaTable {
  private readonly control: Int32Array;
  private readonly table: Int32Array;
  private readonly scan: UserScan = { held: 0, own: -1, free: -1 };

  constructor(private readonly buffers: SharedQuotaBuffers) {
    this.control = new Int32Array(buffers.control);
    this.table = new Int32Array(buffers.table); // tracks the buffer's length as any thread grows it
  }

  /** Walks the chain of the user hashed to (low, high); `own` is `owner`'s entry. */
  scanUser(low: number, high: number, owner: number): UserScan {
    const { table, scan } = this;
    const capacity = this.control[CAPACITY]!;
    const mask = capacity - 1;
    scan.held = 0;
    scan.own = -1;
    scan.free = -1;
    let slot = low & mask;
    for (let probes = 0; probes < capacity; probes++, slot = (slot + 1) & mask) {
      const base = slot * STRIDE;
      const slotOwner = table[base + OWNER]!;
      if (slotOwner === EMPTY) {
        if (scan.free < 0) scan.free = slot;
        break;
      }
      if (slotOwner === TOMBSTONE) {
        if (scan.free < 0) scan.free = slot;
        continue; // the user's entries may lie beyond it
      }
      if (table[base + HASH_LOW] !== low || table[base + HASH_HIGH] !== high) continue;
      scan.held += table[base + COUNT]!;
      if (slotOwner === owner) scan.own = slot;
    }
    return scan;
  }

  /** Fills a free slot (from scanUser) with `owner`'s first allocation of the user; rebuilds at half load. */
  claim(slot: number, low: number, high: number, owner: number): void {
    const { table, control } = this;
    const base = slot * STRIDE;
    const wasEmpty = table[base + OWNER] === EMPTY;
    table[base + HASH_LOW] = low;
    table[base + HASH_HIGH] = high;
    table[base + COUNT] = 1;
    Atomics.store(table, base + OWNER, owner);
    if (wasEmpty && Atomics.add(control, USED, 1) + 1 > control[CAPACITY]! / 2) this.rebuild();
  }

  add(slot: number, delta: number): void {
    const base = slot * STRIDE;
    if (Atomics.add(this.table, base + COUNT, delta) + delta === 0) Atomics.store(this.table, base + OWNER, TOMBSTONE);
  }

  /** Turns every entry of `owner` into a tombstone. */
  dropOwner(owner: number): void {
    const { table } = this;
    const capacity = Atomics.load(this.control, CAPACITY);
    for (let slot = 0; slot < capacity; slot++) {
      const base = slot * STRIDE;
      if (Atomics.load(table, base + OWNER) !== owner) continue;
      Atomics.store(table, base + COUNT, 0);
      Atomics.store(table, base + OWNER, TOMBSTONE);
    }
  }

  get halfUsed(): boolean {
    return Atomics.load(this.control, USED) > Atomics.load(this.control, CAPACITY) / 2;
  }

  /**
   * Rebuilds the table without tombstones, larger (by powers of two) while live entries would fill
   * more than a quarter of it. The live entries are first copied past the new table's end, then
   * REBUILDING is raised: a thread that dies after that leaves a table the next lock holder rewrites
   * from the copy (finishRebuild), and one that dies before it leaves the table as it was.
   */
  rebuild(): void {
    const { table, control } = this;
    const capacity = control[CAPACITY]!;
    let entries = 0;
    for (let slot = 0; slot < capacity; slot++) if (isLive(table, slot * STRIDE)) entries++;
    let next = capacity;
    while (entries * 4 > next && next < MAX_CAPACITY) next *= 2;
    const bytes = (next + entries) * STRIDE * 4;
    if (this.buffers.table.byteLength < bytes) this.buffers.table.grow(bytes);
    let to = next * STRIDE;
    for (let slot = 0; slot < capacity; slot++) {
      const base = slot * STRIDE;
      if (!isLive(table, base)) continue;
      table.copyWithin(to, base, base + STRIDE);
      to += STRIDE;
    }
    control[NEXT_CAPACITY] = next;
    control[COPIED] = entries;
    Atomics.store(control, REBUILDING, 1);
    this.finishRebuild();
  }

  /** Rewrites the table from the copy rebuild made; safe to run again from the start. */
  finishRebuild(): void {
    const { table, control } = this;
    const next = control[NEXT_CAPACITY]!;
    const entries = control[COPIED]!;
    const copy = next * STRIDE;
    table.fill(0, 0, copy);
    const mask = next - 1;
    for (let from = copy; from < copy + entries * STRIDE; from += STRIDE) {
      let slot = table[from + HASH_LOW]! & mask;
      while (table[slot * STRIDE + OWNER] !== EMPTY) slot = (slot + 1) & mask;
      table.copyWithin(slot * STRIDE, from, from + STRIDE);
    }
    Atomics.store(control, CAPACITY, next);
    Atomics.store(control, USED, entries);
    Atomics.store(control, REBUILDING, 0);
  }

  /** What a lock holder does first: a rebuild whose thread died part-way is finished. */
  settle(): void {
    if (Atomics.load(this.control, REBUILDING) !== 0) this.finishRebuild();
  }
}

function isLive(table: Int32Array, base: number): boolean {
  return table[base + OWNER]! > 0 && table[base + COUNT]! > 0;
}

/** The main thread's side: makes the buffers, sets limits, clears a dead thread's holds. */
export class SharedQuotaLedger {
  readonly buffers: SharedQuotaBuffers;
  private readonly control: Int32Array;
  private readonly table: QuotaTable;
  private readonly lock: SharedLock;
  private readonly holder: number;

  constructor(limits: QuotaLimits, threads: number) {
    const control = new SharedArrayBuffer((HELD + threads + threads + 1) * 4);
    const table = new SharedArrayBuffer(INITIAL_CAPACITY * STRIDE * 4, { maxByteLength: MAX_BYTES });
    this.buffers = { control, table, salt: randomBytes(16).toString("hex"), threads };
    this.control = new Int32Array(control);
    this.table = new QuotaTable(this.buffers);
    this.lock = lockOf(this.control, threads);
    this.holder = threads + 1;
    Atomics.store(this.control, CAPACITY, INITIAL_CAPACITY);
    this.setLimits(limits);
  }

  setLimits(limits: QuotaLimits): void {
    Atomics.store(this.control, USER_QUOTA, limits.userQuota);
    Atomics.store(this.control, TOTAL_QUOTA, effectiveTotalQuota(limits));
  }

  /** Allocations held across all threads (what the tests read). */
  get total(): number {
    return heldTotal(this.control, this.buffers.threads);
  }

  /**
   * A relay thread has exited: everything it held is free again, a lock it died holding included,
   * and a rebuild it died in is finished. Settles once done; start the thread's replacement (same
   * index) only then.
   */
  async releaseThread(index: number): Promise<void> {
    const owner = index + 1;
    this.lock.forget(owner);
    const clear = (): void => {
      const { table } = this;
      table.settle();
      table.dropOwner(owner);
      Atomics.store(this.control, HELD + index, 0);
      if (table.halfUsed) table.rebuild();
    };
    while (!this.tryWithLock(clear)) await new Promise((resolve) => setTimeout(resolve, MAIN_RETRY_MS));
  }

  private tryWithLock(work: () => void): boolean {
    if (!this.lock.acquire(this.holder, 0)) return false;
    try {
      work();
    } finally {
      this.lock.release();
    }
    return true;
  }
}

export interface SharedQuotaEvents {
  /** The lock stayed taken for LOCK_TIMEOUT_MS: the Allocate is answered 508. */
  lockTimedOut(): void;
}

/** A relay thread's side: the AllocationQuota its allocations reserve from. */
export function attachSharedQuota(buffers: SharedQuotaBuffers, threadIndex: number, events: SharedQuotaEvents): AllocationQuota {
  const control = new Int32Array(buffers.control);
  const table = new QuotaTable(buffers);
  const lock = lockOf(control, buffers.threads);
  const owner = threadIndex + 1;

  /** The quota's answer, and whether a hold was taken: on "ok", or on any answer `pastLimits` (reserveForClaim). */
  function reserve(username: string, pastLimits: boolean): { room: QuotaAnswer; held: boolean } {
    const digest = usernameHash(buffers.salt, username);
    const low = wordOf(digest, 0);
    const high = wordOf(digest, 4);
    if (!lock.acquire(owner, LOCK_TIMEOUT_MS)) {
      events.lockTimedOut();
      return { room: "total-quota", held: false };
    }
    try {
      table.settle();
      const { held, own, free } = table.scanUser(low, high, owner);
      const room = quotaAnswer(held, control[USER_QUOTA]!, heldTotal(control, buffers.threads), control[TOTAL_QUOTA]!);
      if (room !== "ok" && !pastLimits) return { room, held: false };
      if (own >= 0) table.add(own, 1);
      else if (free >= 0) table.claim(free, low, high, owner);
      else return { room: "total-quota", held: false }; // every slot taken: only at MAX_CAPACITY
      Atomics.add(control, HELD + threadIndex, 1);
      return { room, held: true };
    } finally {
      lock.release();
    }
  }

  /** False when the lock could not be had. */
  function releaseOne(username: string): boolean {
    const digest = usernameHash(buffers.salt, username);
    if (!lock.acquire(owner, LOCK_TIMEOUT_MS)) return false;
    try {
      table.settle();
      const { own } = table.scanUser(wordOf(digest, 0), wordOf(digest, 4), owner);
      if (own < 0) return true; // this thread holds none of the user's
      table.add(own, -1);
      Atomics.sub(control, HELD + threadIndex, 1);
      return true;
    } finally {
      lock.release();
    }
  }

  function releaseLater(username: string): void {
    // Only a lock held past LOCK_TIMEOUT_MS fails this; the hold is given back as soon as it can be.
    if (!releaseOne(username)) setTimeout(releaseLater, RETRY_RELEASE_MS, username).unref();
  }

  return {
    reserve: (username) => reserve(username, false).room,
    reserveForClaim: (username) => reserve(username, true),
    release: releaseLater,
  };
}

/** SHA-256 as Latin-1 text: one character per byte, and no Buffer to make. */
function usernameHash(salt: string, username: string): string {
  return hash("sha256", salt + username, "binary");
}

/** The little-endian int32 at `offset` of a digest in Latin-1 text. */
function wordOf(digest: string, offset: number): number {
  return digest.charCodeAt(offset) | (digest.charCodeAt(offset + 1) << 8) | (digest.charCodeAt(offset + 2) << 16) | (digest.charCodeAt(offset + 3) << 24);
}

function heldTotal(control: Int32Array, threads: number): number {
  let total = 0;
  for (let i = 0; i < threads; i++) total += Atomics.load(control, HELD + i);
  return total;
}
