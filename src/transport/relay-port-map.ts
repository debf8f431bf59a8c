// Which relay ports the relay threads have bound, in memory they all share: one bitmap per relay
// address per thread, written only by its thread. A thread picking a port skips those the others hold
// instead of learning it from a failed bind; near a full range that is the difference between finding
// the last free ports and answering 508 after MAX_BIND_ATTEMPTS failures. A bit is a hint: a bind can
// still fail (another process), and is then retried as before.

import { canonicalIp } from "../stun/address.js";

const PORTS = 65_536;
const WORDS_PER_MAP = PORTS / 32;

/** What each relay thread is started with (workerData). */
export interface RelayPortMapBuffers {
  /** The relay addresses the maps are for, in order; ports on any other address are not shared. */
  readonly addresses: readonly string[];
  readonly threads: number;
  readonly bits: SharedArrayBuffer;
}

export function createRelayPortMapBuffers(addresses: readonly string[], threads: number): RelayPortMapBuffers {
  // As the relay allocators write them: "0:0:0:0:0:0:0:1" is "::1".
  const unique = [...new Set(addresses.map(canonicalIp))];
  return { addresses: unique, threads, bits: new SharedArrayBuffer(unique.length * threads * WORDS_PER_MAP * 4) };
}

/** A relay thread has exited: its sockets went with it, so its ports are free for the others. */
export function clearRelayPortsOf(buffers: RelayPortMapBuffers, threadIndex: number): void {
  const bits = new Int32Array(buffers.bits);
  for (let address = 0; address < buffers.addresses.length; address++) {
    const start = (address * buffers.threads + threadIndex) * WORDS_PER_MAP;
    for (let word = start; word < start + WORDS_PER_MAP; word++) Atomics.store(bits, word, 0);
  }
}

/**
 * Ports of minPort..maxPort bound by any thread, on the relay address that has the most: what
 * turnpike_relay_ports_free takes off the span. Summing each thread's own most would count two
 * addresses as one when threads favour different ones.
 */
export function mostRelayPortsTaken(buffers: RelayPortMapBuffers, minPort: number, maxPort: number): number {
  // Plain reads: the bits are hints, and a port marked a moment late is counted at the next scrape.
  const bits = new Int32Array(buffers.bits);
  const firstWord = minPort >>> 5;
  const lastWord = maxPort >>> 5;
  const any = new Int32Array(lastWord - firstWord + 1);
  let most = 0;
  for (let address = 0; address < buffers.addresses.length; address++) {
    any.fill(0);
    // Each thread's map read straight through, or'ed into one; then counted, masked to the range's ends.
    for (let thread = 0; thread < buffers.threads; thread++) {
      const base = (address * buffers.threads + thread) * WORDS_PER_MAP;
      for (let word = firstWord; word <= lastWord; word++) any[word - firstWord]! |= bits[base + word]!;
    }
    any[0]! &= -1 << (minPort & 31);
    const last = maxPort & 31;
    if (last !== 31) any[any.length - 1]! &= (1 << (last + 1)) - 1;
    let taken = 0;
    for (const word of any) taken += bitCount(word);
    most = Math.max(most, taken);
  }
  return most;
}

function bitCount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** One relay thread's view: reads every thread's bits, writes its own. */
export class RelayPortMap {
  private readonly bits: Int32Array;
  private readonly addressIndex: Map<string, number>;

  constructor(
    private readonly buffers: RelayPortMapBuffers,
    private readonly threadIndex: number,
  ) {
    this.bits = new Int32Array(buffers.bits);
    this.addressIndex = new Map(buffers.addresses.map((address, index) => [address, index]));
  }

  /** Bound by any relay thread on `address`, as far as the map knows; false for an address it does not cover. */
  isTaken(address: string, port: number): boolean {
    const index = this.addressIndex.get(address);
    if (index === undefined) return false;
    const mask = 1 << (port & 31);
    for (let thread = 0; thread < this.buffers.threads; thread++) {
      if ((Atomics.load(this.bits, this.wordOf(index, thread, port)) & mask) !== 0) return true;
    }
    return false;
  }

  /** Records this thread's bind (`taken`) or close of `address:port`. */
  mark(address: string, port: number, taken: boolean): void {
    const index = this.addressIndex.get(address);
    if (index === undefined) return;
    const word = this.wordOf(index, this.threadIndex, port);
    const mask = 1 << (port & 31);
    if (taken) Atomics.or(this.bits, word, mask);
    else Atomics.and(this.bits, word, ~mask);
  }

  private wordOf(addressIndex: number, thread: number, port: number): number {
    return (addressIndex * this.buffers.threads + thread) * WORDS_PER_MAP + (port >>> 5);
  }
}
