import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { TurnEndFlush } from "../../src/transport/turn-end-flush.js";

const endOfTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function connectedPair(): Promise<{ client: net.Socket; server: net.Socket; received: Buffer[]; close(): void }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once("connection", resolve));
  const client = net.connect((listener.address() as net.AddressInfo).port, "127.0.0.1");
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  const server = await accepted;
  const received: Buffer[] = [];
  client.on("data", (chunk: Buffer) => received.push(chunk));
  return {
    client,
    server,
    received,
    close() {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe("TurnEndFlush", () => {
  it("holds what a turn writes to a socket and writes it all when the turn ends, in order", async () => {
    const pair = await connectedPair();
    closers.push(pair.close);
    const flush = new TurnEndFlush();
    for (const frame of ["one|", "two|", "three|"]) {
      flush.hold(pair.server);
      pair.server.write(frame);
    }
    // Still held: nothing has gone to the kernel, and the socket is corked once, not three times.
    expect(pair.server.writableCorked).toBe(1);
    expect(pair.server.writableLength).toBe("one|two|three|".length);

    await endOfTurn();
    expect(pair.server.writableCorked).toBe(0);
    expect(pair.server.writableLength).toBe(0);
    const deadline = Date.now() + 2000;
    while (Buffer.concat(pair.received).length < 14 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(Buffer.concat(pair.received).toString()).toBe("one|two|three|");
  });

  it("lets go of every socket held in the turn, and holds again in the next", async () => {
    const a = await connectedPair();
    const b = await connectedPair();
    closers.push(a.close, b.close);
    const flush = new TurnEndFlush();
    flush.hold(a.server);
    flush.hold(b.server);
    await endOfTurn();
    expect([a.server.writableCorked, b.server.writableCorked]).toEqual([0, 0]);
    flush.hold(a.server);
    expect(a.server.writableCorked).toBe(1);
    await endOfTurn();
    expect(a.server.writableCorked).toBe(0);
  });

  it("writes what a socket holds at once when released, so that an answer goes out before the socket is destroyed", async () => {
    const pair = await connectedPair();
    closers.push(pair.close);
    const flush = new TurnEndFlush();
    flush.hold(pair.server);
    pair.server.write("answer|");
    flush.release(pair.server);
    expect(pair.server.writableCorked).toBe(0);
    expect(pair.server.writableLength).toBe(0);
    pair.server.destroy();
    await endOfTurn();
    const deadline = Date.now() + 2000;
    while (Buffer.concat(pair.received).length < 7 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(Buffer.concat(pair.received).toString()).toBe("answer|");
  });

  it("takes a socket destroyed while held in its stride", async () => {
    const pair = await connectedPair();
    closers.push(pair.close);
    const errors: unknown[] = [];
    pair.server.on("error", (error) => errors.push(error));
    const flush = new TurnEndFlush();
    flush.hold(pair.server);
    pair.server.write("lost|");
    pair.server.destroy();
    await endOfTurn();
    await endOfTurn();
    expect(pair.server.destroyed).toBe(true);
    expect(errors).toEqual([]);
  });
});
