import { statSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { attachSharedQuota, QuotaTable, SharedQuotaLedger } from "../../src/server/shared-quota.js";

/** The relay-thread side as threads load it: the build, which must not be older than the source. */
function builtModuleUrl(): string {
  const built = new URL("../../dist/server/shared-quota.js", import.meta.url);
  const source = new URL("../../src/server/shared-quota.ts", import.meta.url);
  expect(statSync(built).mtimeMs, "dist/ is older than src/: npm run build").toBeGreaterThanOrEqual(statSync(source).mtimeMs);
  return built.href;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const noEvents = { lockTimedOut(): void {} };

/** Two relay threads' views of one ledger, in this thread: the lock and the table are the same memory. */
function twoThreads(userQuota: number, totalQuota: number) {
  const ledger = new SharedQuotaLedger({ userQuota, totalQuota }, 2);
  return { ledger, a: attachSharedQuota(ledger.buffers, 0, noEvents), b: attachSharedQuota(ledger.buffers, 1, noEvents) };
}

describe("SharedQuotaLedger", () => {
  it("holds user-quota across threads: a user's allocations on every thread count together", async () => {
    const { a, b } = twoThreads(3, 100);
    expect(await a.reserve("alice")).toBe("ok");
    expect(await a.reserve("alice")).toBe("ok");
    expect(await b.reserve("alice")).toBe("ok");
    expect(await b.reserve("alice")).toBe("user-quota");
    expect(await a.reserve("alice")).toBe("user-quota");
    expect(await b.reserve("bob")).toBe("ok");
    a.release("alice");
    expect(await b.reserve("alice")).toBe("ok");
    expect(await a.reserve("alice")).toBe("user-quota");
  });

  it("holds total-quota across threads, and frees room on release", async () => {
    const { ledger, a, b } = twoThreads(10, 3);
    expect(await a.reserve("u1")).toBe("ok");
    expect(await b.reserve("u2")).toBe("ok");
    expect(await a.reserve("u3")).toBe("ok");
    expect(ledger.total).toBe(3);
    expect(await b.reserve("u4")).toBe("total-quota");
    b.release("u2");
    expect(ledger.total).toBe(2);
    expect(await a.reserve("u4")).toBe("ok");
  });

  it("checks user-quota before total-quota (486 before 508, RFC 8656 §7.2)", async () => {
    const { a } = twoThreads(1, 1);
    expect(await a.reserve("alice")).toBe("ok");
    expect(await a.reserve("alice")).toBe("user-quota");
    expect(await a.reserve("bob")).toBe("total-quota");
  });

  it("applies new limits at once", async () => {
    const { ledger, a } = twoThreads(5, 100);
    expect(await a.reserve("alice")).toBe("ok");
    expect(await a.reserve("alice")).toBe("ok");
    ledger.setLimits({ userQuota: 2, totalQuota: 100 });
    expect(await a.reserve("alice")).toBe("user-quota");
    ledger.setLimits({ userQuota: 5, totalQuota: 2 });
    expect(await a.reserve("bob")).toBe("total-quota");
    // bps-capacity lowers total-quota as the single-thread ledger does: 3 allocations of max-bps fit.
    ledger.setLimits({ userQuota: 5, totalQuota: 100, maxBps: 1000, bpsCapacity: 3000 });
    expect(await a.reserve("bob")).toBe("ok");
    expect(await a.reserve("carol")).toBe("total-quota");
  });

  it("takes a claim's hold past both limits, says which limit it passed, and counts and releases it like any other", async () => {
    const { ledger, a, b } = twoThreads(1, 2);
    expect(a.reserve("alice")).toBe("ok");
    expect(b.reserveForClaim("alice")).toEqual({ room: "user-quota", held: true });
    expect(b.reserveForClaim("bob")).toEqual({ room: "total-quota", held: true });
    expect(ledger.total).toBe(3);
    expect(a.reserve("alice")).toBe("user-quota");
    expect(a.reserve("carol")).toBe("total-quota");
    b.release("alice");
    b.release("bob");
    expect(ledger.total).toBe(1);
    expect(b.reserveForClaim("bob")).toEqual({ room: "ok", held: true });
    expect(ledger.total).toBe(2);
  });

  it("releases only what the releasing thread holds", async () => {
    const { ledger, a, b } = twoThreads(2, 100);
    expect(await b.reserve("alice")).toBe("ok");
    a.release("alice"); // thread a holds none of alice's
    expect(ledger.total).toBe(1);
    expect(await a.reserve("alice")).toBe("ok");
    expect(await a.reserve("alice")).toBe("user-quota");
  });

  it("gives back everything a dead thread held, and nothing else", async () => {
    const { ledger, a, b } = twoThreads(3, 100);
    for (let i = 0; i < 3; i++) expect(await a.reserve("alice")).toBe("ok");
    expect(await a.reserve("bob")).toBe("ok");
    expect(await b.reserve("bob")).toBe("ok");
    await ledger.releaseThread(0);
    expect(ledger.total).toBe(1);
    for (let i = 0; i < 3; i++) expect(await b.reserve("alice")).toBe("ok");
    expect(await b.reserve("bob")).toBe("ok");
    expect(await b.reserve("bob")).toBe("ok");
    expect(await b.reserve("bob")).toBe("user-quota");
    // A restarted thread 0 starts from nothing; its releases of holds that died with it change nothing.
    const restarted = attachSharedQuota(ledger.buffers, 0, noEvents);
    restarted.release("alice");
    expect(ledger.total).toBe(6);
  });

  it("breaks a lock its holder died with", async () => {
    const { ledger, b } = twoThreads(3, 100);
    // Thread 0 (holder id 1) terminated inside its critical section: the lock word still names it.
    Atomics.store(new Int32Array(ledger.buffers.control), 0, 1);
    await ledger.releaseThread(0);
    const startedAt = performance.now();
    expect(await b.reserve("alice")).toBe("ok");
    expect(performance.now() - startedAt).toBeLessThan(1_000);
  });

  it("never blocks the main thread on a lock a dead thread holds: it retries until that thread's exit breaks it", async () => {
    const { ledger, a } = twoThreads(3, 100);
    expect(await a.reserve("alice")).toBe("ok");
    // Thread 1 (holder id 2) was killed inside its critical section; its exit event is not handled yet.
    Atomics.store(new Int32Array(ledger.buffers.control), 0, 2);
    const startedAt = performance.now();
    let released = false;
    const releasing = ledger.releaseThread(0).then(() => (released = true));
    expect(performance.now() - startedAt).toBeLessThan(1000); // it returned: not a blocking wait for the lock
    await sleep(100); // the event loop runs meanwhile
    expect(released).toBe(false);
    expect(ledger.total).toBe(1);
    await ledger.releaseThread(1); // thread 1's exit: its lock is broken
    await releasing;
    expect(ledger.total).toBe(0);
  });

  it("counts another thread's entry for a user behind a tombstone of this thread's", async () => {
    const { ledger, a, b } = twoThreads(2, 100);
    expect(await a.reserve("alice")).toBe("ok"); // a's entry: alice's home slot
    expect(await b.reserve("alice")).toBe("ok"); // b's entry: the next one
    a.release("alice"); // a's entry becomes a tombstone in front of b's
    ledger.setLimits({ userQuota: 1, totalQuota: 100 });
    expect(await a.reserve("alice")).toBe("user-quota");
    b.release("alice");
    expect(await a.reserve("alice")).toBe("ok");
  });

  it("answers 508, and says so, rather than stall when the lock is never released", async () => {
    const ledger = new SharedQuotaLedger({ userQuota: 3, totalQuota: 100 }, 2);
    let timeouts = 0;
    const b = attachSharedQuota(ledger.buffers, 1, { ...noEvents, lockTimedOut: () => timeouts++ });
    Atomics.store(new Int32Array(ledger.buffers.control), 0, 1);
    expect(b.reserve("alice")).toBe("total-quota");
    expect(timeouts).toBe(1);
    // A claim's hold waits for the lock once too, and takes nothing.
    expect(b.reserveForClaim("alice")).toEqual({ room: "total-quota", held: false });
    expect(timeouts).toBe(2);
    expect(ledger.total).toBe(0);
  });

  it("reuses a released user's slot: churn of a few users never grows the table", async () => {
    const { ledger, a } = twoThreads(1, 100);
    const bytes = ledger.buffers.table.byteLength;
    for (let i = 0; i < 20_000; i++) {
      expect(await a.reserve(`user-${i % 3}`)).toBe("ok");
      a.release(`user-${i % 3}`);
    }
    expect(ledger.total).toBe(0);
    expect(ledger.buffers.table.byteLength).toBe(bytes);
  });

  it("grows at half load in the thread that fills it, with no other thread's help, and keeps every count", async () => {
    const { ledger, a, b } = twoThreads(2, 1_000_000);
    const users = 20_000; // 4,096 slots grow to 16,384 at 2,049 users, then to 65,536 at 8,193
    for (let i = 0; i < users; i++) expect(await a.reserve(`user-${i}`)).toBe("ok");
    expect(ledger.total).toBe(users);
    for (let i = 0; i < users; i += 997) {
      expect(await b.reserve(`user-${i}`)).toBe("ok");
      expect(await b.reserve(`user-${i}`)).toBe("user-quota");
    }
    for (let i = 0; i < users; i++) a.release(`user-${i}`);
    expect(ledger.total).toBe(Math.ceil(users / 997));
    for (let i = 0; i < users; i += 997) expect(await a.reserve(`user-${i}`)).toBe("ok");
    for (let i = 0; i < users; i += 997) expect(await a.reserve(`user-${i}`)).toBe("user-quota");
  });

  /** A thread that dies in a rebuild after the copy is made, with the table half rewritten. */
  function dieRebuilding(buffers: SharedQuotaLedger["buffers"]): void {
    class Dies extends QuotaTable {
      override finishRebuild(): void {
        const words = new Int32Array(buffers.table);
        words.fill(0, 0, words.length / 3);
        throw new Error("thread terminated");
      }
    }
    expect(() => new Dies(buffers).rebuild()).toThrow("thread terminated");
  }

  it("finishes a rebuild its thread died in, then drops that thread's holds", async () => {
    const { ledger, a, b } = twoThreads(1, 1_000);
    const users = 200;
    for (let i = 0; i < users; i++) {
      expect(await a.reserve(`a-${i}`)).toBe("ok");
      expect(await b.reserve(`b-${i}`)).toBe("ok");
    }
    dieRebuilding(ledger.buffers);
    Atomics.store(new Int32Array(ledger.buffers.control), 0, 1); // it held the lock (holder 1: thread 0)
    await ledger.releaseThread(0);
    expect(ledger.total).toBe(users);
    for (let i = 0; i < users; i++) {
      expect(await b.reserve(`b-${i}`)).toBe("user-quota");
      expect(await b.reserve(`a-${i}`)).toBe("ok");
    }
  });

  it("has a relay thread finish a rebuild another died in, when it takes the lock first", async () => {
    const { ledger, a, b } = twoThreads(1, 1_000);
    const users = 200;
    for (let i = 0; i < users; i++) expect(await a.reserve(`a-${i}`)).toBe("ok");
    dieRebuilding(ledger.buffers);
    for (let i = 0; i < users; i++) expect(await b.reserve(`a-${i}`)).toBe("user-quota");
    for (let i = 0; i < users; i++) a.release(`a-${i}`);
    expect(ledger.total).toBe(0);
    for (let i = 0; i < users; i++) expect(await b.reserve(`a-${i}`)).toBe("ok");
  });

  it("keeps user-quota exact with threads racing for it, and through a thread killed mid-way", async () => {
    const userQuota = 3;
    const threads = 4;
    const ledger = new SharedQuotaLedger({ userQuota, totalQuota: 1_000 }, threads);
    // inside[0]: allocations "in use" now, counted after reserve and before release; inside[1]: the most seen.
    const inside = new Int32Array(new SharedArrayBuffer(8));
    const moduleUrl = builtModuleUrl();
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      (async () => {
        const { attachSharedQuota } = await import(workerData.moduleUrl);
        const quota = attachSharedQuota(workerData.buffers, workerData.index, { lockTimedOut() {} });
        const inside = new Int32Array(workerData.inside);
        let ok = 0;
        for (let i = 0; i < workerData.iterations; i++) {
          if ((await quota.reserve("shared")) !== "ok") continue;
          ok++;
          const now = Atomics.add(inside, 0, 1) + 1;
          for (let seen = Atomics.load(inside, 1); now > seen; seen = Atomics.load(inside, 1)) Atomics.compareExchange(inside, 1, seen, now);
          Atomics.sub(inside, 0, 1);
          quota.release("shared");
        }
        parentPort.postMessage(ok);
      })();`;
    const start = (index: number, iterations: number, counter = inside): Worker =>
      new Worker(code, { eval: true, workerData: { moduleUrl, buffers: ledger.buffers, index, inside: counter.buffer, iterations } });
    const finished = (worker: Worker): Promise<number> =>
      new Promise((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      });

    // Thread 3 races without end until it is killed, wherever it is (its own counter: it may die counted in).
    const victimCounter = new Int32Array(new SharedArrayBuffer(8));
    const victim = start(3, Number.MAX_SAFE_INTEGER, victimCounter);
    const workers = [0, 1, 2].map((index) => start(index, 20_000));
    // Listening from the start: a worker may finish before the victim is killed.
    const results = workers.map((worker) => finished(worker));
    // Killed once it has held the quota, while the others race it.
    for (let waited = 0; Atomics.load(victimCounter, 1) === 0 && waited < 5_000; waited += 5) await sleep(5);
    expect(Atomics.load(victimCounter, 1)).toBeGreaterThan(0);
    await sleep(20);
    await victim.terminate();
    await ledger.releaseThread(3);
    const oks = await Promise.all(results);

    expect(Atomics.load(inside, 1)).toBeGreaterThan(0);
    expect(Atomics.load(inside, 1)).toBeLessThanOrEqual(userQuota);
    for (const ok of oks) expect(ok).toBeGreaterThan(0);
    expect(ledger.total).toBe(0);
    const after = attachSharedQuota(ledger.buffers, 0, noEvents);
    for (let i = 0; i < userQuota; i++) expect(await after.reserve("shared")).toBe("ok");
    expect(await after.reserve("shared")).toBe("user-quota");
  });

  it("grows the table under threads that keep reserving while the main thread is busy, each seeing the other's users", async () => {
    const threads = 2;
    const users = 3_000; // per thread: 6,000 entries take the table from 4,096 slots to 16,384
    const ledger = new SharedQuotaLedger({ userQuota: 1, totalQuota: 100_000 }, threads);
    const moduleUrl = builtModuleUrl();
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      (async () => {
        const { attachSharedQuota } = await import(workerData.moduleUrl);
        const quota = attachSharedQuota(workerData.buffers, workerData.index, { lockTimedOut() {} });
        let refused = 0;
        for (let i = 0; i < workerData.users; i++) if ((await quota.reserve("t" + workerData.index + "-" + i)) !== "ok") refused++;
        // Once both have reserved all theirs, each sees the other's users at their quota.
        const barrier = new Int32Array(workerData.barrier);
        Atomics.add(barrier, 0, 1);
        while (Atomics.load(barrier, 0) < 2) Atomics.wait(barrier, 0, 1, 10);
        let other = 0;
        for (let i = 0; i < workerData.users; i += 7) if ((await quota.reserve("t" + (1 - workerData.index) + "-" + i)) === "user-quota") other++;
        parentPort.postMessage({ refused, other });
      })();`;
    const barrier = new SharedArrayBuffer(4);
    const finished = Promise.all(
      Array.from({ length: threads }, (_, index) => {
        const worker = new Worker(code, { eval: true, workerData: { moduleUrl, buffers: ledger.buffers, index, users, barrier } });
        return new Promise<{ refused: number; other: number }>((resolve, reject) => {
          worker.once("message", (message: { refused: number; other: number }) => {
            resolve(message);
            void worker.terminate();
          });
          worker.once("error", reject);
        });
      }),
    );
    // The main thread answers nothing while the threads fill the table: they must grow it themselves.
    const arrived = new Int32Array(barrier);
    for (const deadline = Date.now() + 15_000; Atomics.load(arrived, 0) < threads && Date.now() < deadline; ) {
      Atomics.wait(arrived, 0, Atomics.load(arrived, 0), 50);
    }
    const results = await finished;
    for (const { refused, other } of results) {
      expect(refused).toBe(0);
      expect(other).toBe(Math.ceil(users / 7));
    }
    expect(ledger.total).toBe(threads * users);
    const main = attachSharedQuota(ledger.buffers, 0, noEvents);
    for (let i = 0; i < users; i += 101) {
      expect(await main.reserve(`t0-${i}`)).toBe("user-quota");
      expect(await main.reserve(`t1-${i}`)).toBe("user-quota");
    }
  });
});
