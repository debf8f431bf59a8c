import dgram from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { UdpReplyQueue } from "../../src/transport/udp-reply-queue.js";

const endOfTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function bound(): Promise<dgram.Socket> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return socket;
}

/** A server socket whose sends are counted (they still go out), and a client that collects what arrives. */
async function pair() {
  const server = await bound();
  const client = await bound();
  const received: string[] = [];
  client.on("message", (bytes) => received.push(bytes.toString()));
  let sends = 0;
  const send = server.send.bind(server) as (data: Buffer, port: number, address: string) => void;
  server.send = ((data: Buffer, port: number, address: string) => {
    sends++;
    send(data, port, address);
  }) as typeof server.send;
  const open = [server, client];
  closers.push(() =>
    open.forEach((socket) => {
      try {
        socket.close();
      } catch {
        // closed by the test
      }
    }),
  );
  return { server, client, received, sends: () => sends, clientPort: client.address().port };
}

async function until(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe("UdpReplyQueue: STUN answers go out together when the event-loop turn ends", () => {
  it("sends nothing during the turn, then everything, in order", async () => {
    const { server, received, sends, clientPort } = await pair();
    const errors: unknown[] = [];
    const queue = new UdpReplyQueue(server, (error) => errors.push(error));
    for (const text of ["one", "two", "three"]) queue.send(Buffer.from(text), clientPort, "127.0.0.1");
    await Promise.resolve(); // microtasks (an async handler's answer) are still this turn
    expect(sends()).toBe(0);
    await endOfTurn();
    expect(sends()).toBe(3);
    await until(() => received.length === 3);
    expect(received).toEqual(["one", "two", "three"]);
    // The next turn's answers are held and sent anew.
    queue.send(Buffer.from("four"), clientPort, "127.0.0.1");
    expect(sends()).toBe(3);
    await endOfTurn();
    await until(() => received.length === 4);
    expect(received).toEqual(["one", "two", "three", "four"]);
    expect(errors).toEqual([]);
  });

  it("sends what it holds when closed, and nothing after", async () => {
    const { server, received, sends, clientPort } = await pair();
    const queue = new UdpReplyQueue(server, () => {});
    queue.send(Buffer.from("held"), clientPort, "127.0.0.1");
    queue.close();
    expect(sends()).toBe(1);
    queue.send(Buffer.from("late"), clientPort, "127.0.0.1");
    await endOfTurn();
    await until(() => received.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sends()).toBe(1);
    expect(received).toEqual(["held"]);
  });

  it("reports a send that throws (the socket closed under it) and goes on, raising nothing", async () => {
    const { server, clientPort } = await pair();
    const errors: unknown[] = [];
    const queue = new UdpReplyQueue(server, (error) => errors.push(error));
    queue.send(Buffer.from("a"), clientPort, "127.0.0.1");
    queue.send(Buffer.from("b"), clientPort, "127.0.0.1");
    server.close();
    await endOfTurn();
    expect(errors).toHaveLength(2);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe("ERR_SOCKET_DGRAM_NOT_RUNNING");
  });
});
