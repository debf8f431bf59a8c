// The group budget over relay sockets' queues, with sockets that say what they hold as a real one would.
import { afterEach, describe, expect, it, vi } from "vitest";
import { QueueShares, SendQueueBudget } from "../../src/transport/send-queue.js";

/** A socket whose kernel buffer is full while `congested`: every send then waits, until `drain`. */
class QueueModel {
  congested = false;
  closed = false;
  private readonly held: number[] = [];
  getSendQueueCount(): number {
    if (this.closed) throw new Error("Not running");
    return this.held.length;
  }
  getSendQueueSize(): number {
    if (this.closed) throw new Error("Not running");
    return this.held.reduce((sum, length) => sum + length, 0);
  }
  send(length: number): void {
    if (this.congested || this.held.length > 0) this.held.push(length);
  }
  drain(): void {
    this.held.length = 0;
  }
}

/** What a relay socket does with each datagram: asks, sends, reports. */
function offer(budget: SendQueueBudget, socket: QueueModel, length: number): boolean {
  if (budget.full(socket, length)) return false;
  socket.send(length);
  budget.sent(socket, length);
  return true;
}

const LIMITS = { datagrams: 64, bytes: 64 * 1024 };

describe("SendQueueBudget", () => {
  it("lets sockets that hold nothing send, and counts nothing for them", () => {
    const budget = new SendQueueBudget(LIMITS, 10_000);
    const socket = new QueueModel();
    for (let i = 0; i < 1_000; i++) expect(offer(budget, socket, 1_200)).toBe(true);
    expect(budget.bytes).toBe(0);
  });

  it("holds each socket to its own limits", () => {
    const budget = new SendQueueBudget(LIMITS, 1 << 30);
    const socket = new QueueModel();
    socket.congested = true;
    let taken = 0;
    for (let i = 0; i < 1_000; i++) if (offer(budget, socket, 100)) taken++;
    expect(taken).toBe(64);
    expect(socket.getSendQueueCount()).toBe(64);
  });

  it("holds a group of congested sockets to its bytes together, each well under its own limit", () => {
    const budget = new SendQueueBudget(LIMITS, 100_000);
    const sockets = Array.from({ length: 20 }, () => Object.assign(new QueueModel(), { congested: true }));
    for (let round = 0; round < 50; round++) for (const socket of sockets) offer(budget, socket, 1_200);
    const held = sockets.reduce((sum, socket) => sum + socket.getSendQueueSize(), 0);
    expect(held).toBeLessThanOrEqual(100_000);
    expect(held).toBeGreaterThan(100_000 - 20 * 1_200);
    expect(budget.bytes).toBe(held);
    // One that holds nothing still goes straight to its kernel buffer.
    expect(offer(budget, new QueueModel(), 1_200)).toBe(true);
  });

  it("past its bytes, lets a socket that holds nothing send a datagram of a link's size, not a larger one", () => {
    const budget = new SendQueueBudget(LIMITS, 10_000);
    const congested = Object.assign(new QueueModel(), { congested: true });
    while (offer(budget, congested, 1_000));
    const fresh = Array.from({ length: 10 }, () => Object.assign(new QueueModel(), { congested: true }));
    expect(fresh.map((socket) => offer(budget, socket, 60_000))).toEqual(Array(10).fill(false));
    expect(fresh.map((socket) => offer(budget, socket, 1_200))).toEqual(Array(10).fill(true));
    expect(fresh.map((socket) => offer(budget, socket, 1_200))).toEqual(Array(10).fill(false)); // now they hold one each
  });

  it("counts again what still waits, not only what drained", () => {
    const budget = new SendQueueBudget(LIMITS, 1 << 20);
    const [a, b] = [new QueueModel(), new QueueModel()];
    a.congested = b.congested = true;
    for (let i = 0; i < 5; i++) offer(budget, a, 1_000);
    for (let i = 0; i < 3; i++) offer(budget, b, 2_000);
    a.drain();
    budget.recount();
    expect(budget.bytes).toBe(6_000);
  });

  describe("the recount timer", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("counts every 100 ms while a socket holds something, forgets drained and closed ones, and then stops", () => {
      vi.useFakeTimers();
      const budget = new SendQueueBudget(LIMITS, 1 << 20);
      const [a, b] = [new QueueModel(), new QueueModel()];
      a.congested = b.congested = true;
      offer(budget, a, 1_000);
      offer(budget, a, 1_000);
      offer(budget, b, 1_000);
      expect(vi.getTimerCount()).toBe(1);
      b.closed = true;
      vi.advanceTimersByTime(100);
      expect(budget.bytes).toBe(2_000);
      expect(vi.getTimerCount()).toBe(1);
      a.drain();
      vi.advanceTimersByTime(100);
      expect(budget.bytes).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  it("gives the room back once the sockets are counted again after they drain, closed ones included", () => {
    const budget = new SendQueueBudget(LIMITS, 10_000);
    const [a, b] = [new QueueModel(), new QueueModel()];
    a.congested = b.congested = true;
    while (offer(budget, a, 1_000));
    expect(offer(budget, b, 1_000)).toBe(true); // b held nothing: it may start
    expect(offer(budget, b, 1_000)).toBe(false); // now it holds one, and the group is at its bytes
    a.drain();
    a.congested = false;
    b.closed = true;
    expect(offer(budget, b, 1_000)).toBe(true); // closed: its own send reports that, the budget does not
    budget.recount();
    expect(budget.bytes).toBe(0);
    a.congested = true;
    expect(offer(budget, a, 1_000)).toBe(true);
    expect(offer(budget, a, 1_000)).toBe(true);
  });
});

describe("QueueShares", () => {
  const SHARE = { datagrams: 4, bytes: 10_000 };

  it("holds each destination address to its share in datagrams, whatever its ports, and leaves the others theirs", () => {
    const shares = new QueueShares(SHARE);
    const left = Array.from({ length: 4 }, () => shares.admit("203.0.113.1", 100));
    expect(left.every((done) => done !== undefined)).toBe(true);
    expect(shares.admit("203.0.113.1", 100)).toBeUndefined();
    expect(shares.admit("203.0.113.2", 100)).toBeDefined();
    // One leaves the queue: the destination may have one more waiting.
    left[0]!();
    expect(shares.admit("203.0.113.1", 100)).toBeDefined();
    expect(shares.admit("203.0.113.1", 100)).toBeUndefined();
  });

  it("holds a destination to its share in bytes, but always lets one datagram wait when it holds nothing", () => {
    const shares = new QueueShares(SHARE);
    const first = shares.admit("203.0.113.1", 60_000);
    expect(first).toBeDefined();
    expect(shares.admit("203.0.113.1", 1)).toBeUndefined();
    first!();
    expect(shares.admit("203.0.113.1", 6_000)).toBeDefined();
    expect(shares.admit("203.0.113.1", 4_000)).toBeDefined();
    expect(shares.admit("203.0.113.1", 1)).toBeUndefined();
  });

  it("forgets a destination once nothing of it waits", () => {
    const shares = new QueueShares(SHARE);
    const a = shares.admit("203.0.113.1", 100)!;
    const b = shares.admit("203.0.113.1", 100)!;
    expect(shares.destinations).toBe(1);
    a();
    expect(shares.destinations).toBe(1);
    b();
    expect(shares.destinations).toBe(0);
  });
});
