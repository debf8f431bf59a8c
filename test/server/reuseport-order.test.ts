import dgram from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { ReuseportOrder } from "../../src/server/reuseport-order.js";

// The model is checked against the kernel: real sockets in one SO_REUSEPORT group on loopback.
const THREADS = 4;
const SENDERS = 48;

const open: dgram.Socket[] = [];
afterEach(() => {
  for (const socket of open.splice(0)) {
    try {
      socket.close();
    } catch {
      // already closed
    }
  }
});

async function bind(port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: "udp4", reusePort: true });
  open.push(socket);
  await new Promise<void>((resolve) => socket.bind({ port, address: "127.0.0.1", exclusive: false }, resolve));
  return socket;
}

/** Which thread's socket each sender's datagram reaches. */
async function mapping(port: number, sockets: readonly dgram.Socket[], senders: readonly dgram.Socket[]): Promise<number[]> {
  const reached = new Map<number, number>();
  const expected = new Set(senders.map((s) => s.address().port));
  const done = new Promise<void>((resolve) => {
    sockets.forEach((socket, thread) => {
      socket.removeAllListeners("message");
      socket.on("message", (_bytes, rinfo) => {
        reached.set(rinfo.port, thread);
        if (reached.size === expected.size) resolve();
      });
    });
  });
  for (const sender of senders) sender.send("x", port, "127.0.0.1");
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 2000))]);
  return senders.map((s) => reached.get(s.address().port) ?? -1);
}

/** A small deterministic generator: the same sequence of deaths every run. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe("ReuseportOrder", () => {
  it("tracks the kernel's group through deaths and restarts, and its rebinds give every client its thread back", async () => {
    const model = new ReuseportOrder(THREADS);
    const sockets: dgram.Socket[] = [];
    sockets[0] = await bind(0);
    const port = sockets[0].address().port;
    model.bound(0);
    for (let thread = 1; thread < THREADS; thread++) {
      sockets[thread] = await bind(port);
      model.bound(thread);
    }
    const senders = await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        const sender = dgram.createSocket("udp4");
        open.push(sender);
        await new Promise<void>((resolve) => sender.bind(0, "127.0.0.1", resolve));
        return sender;
      }),
    );
    const initial = await mapping(port, sockets, senders);
    expect(new Set(initial)).toEqual(new Set([0, 1, 2, 3]));
    expect(model.inOrder).toBe(true);

    const random = lcg(7);
    let reordered = 0;
    for (let round = 0; round < 12; round++) {
      // One or two threads die; they come back in either order.
      const dead = [Math.floor(random() * THREADS)];
      if (random() < 0.4) dead.push((dead[0]! + 1 + Math.floor(random() * (THREADS - 1))) % THREADS);
      for (const thread of dead) {
        sockets[thread]!.close();
        model.closed(thread);
      }
      expect(model.nextRebind()).toBeUndefined(); // not whole: wait for the restarts
      if (random() < 0.5) dead.reverse();
      for (const thread of dead) {
        sockets[thread] = await bind(port);
        model.bound(thread);
      }
      if (!model.inOrder) {
        reordered++;
        expect(await mapping(port, sockets, senders)).not.toEqual(initial);
      }
      let rebinds = 0;
      for (let thread = model.nextRebind(); thread !== undefined; thread = model.nextRebind()) {
        expect(++rebinds).toBeLessThanOrEqual(2 * THREADS);
        sockets[thread]!.close();
        sockets[thread] = await bind(port);
        model.rebound(thread);
      }
      expect(model.inOrder).toBe(true);
      expect(await mapping(port, sockets, senders), `round ${round}`).toEqual(initial);
    }
    expect(reordered).toBeGreaterThan(3);
  });
});
