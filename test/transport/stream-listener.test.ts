import net from "node:net";
import tls from "node:tls";
import { describe, expect, it } from "vitest";
import { StreamListener, type StreamListenerOptions } from "../../src/transport/stream-listener.js";
import type { ClientLink } from "../../src/turn/ports.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { testPem } from "../helpers/tls-cert.js";

// A Binding request (20 bytes, no attributes): the listener frames it; the test's handler answers.
const REQUEST = Buffer.from("000100002112a442000102030405060708090a0b", "hex");
const ANSWER = Buffer.alloc(1024, 0x11);
// What waits for a silent client at most: 64 KiB of answers, plus the one that went past it.
const ANSWERS_HELD_MOST = 64 * 1024 + ANSWER.length;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function openListener(onFrame: (link: ClientLink) => void, transport: "tcp" | "tls" = "tcp"): Promise<StreamListener> {
  const pem = transport === "tls" ? testPem() : undefined;
  return StreamListener.open({
    transport,
    ...(pem ? { tls: { cert: Buffer.from(pem.cert), key: Buffer.from(pem.key) } } : {}),
    address: "127.0.0.1",
    port: 0,
    family: "IPv4",
    idleTimeoutMs: 60_000,
    maxChannelNumber: 0x4fff,
    onPacket: (_bytes, _address, _port, link) => onFrame(link),
    log: createRecordingLogger(),
  });
}

/** A client of the listener that does not read (paused). */
async function silentClient(listener: StreamListener, transport: "tcp" | "tls" = "tcp"): Promise<net.Socket> {
  const client =
    transport === "tls" ? tls.connect({ port: listener.port, host: "127.0.0.1", rejectUnauthorized: false }) : net.connect(listener.port, "127.0.0.1");
  client.on("error", () => {});
  client.pause();
  await new Promise<void>((resolve) => client.once(transport === "tls" ? "secureConnect" : "connect", () => resolve()));
  return client;
}

/**
 * Runs `test` with a listener answering every frame with ANSWER and a connected client that does not
 * read (paused), and closes both afterwards.
 */
async function withSilentClient(
  transport: "tcp" | "tls",
  test: (opened: { listener: StreamListener; client: net.Socket; handled: { value: number } }) => Promise<void>,
): Promise<void> {
  const handled = { value: 0 };
  const listener = await openListener((link) => {
    handled.value++;
    link.send(ANSWER, "", 0);
  }, transport);
  let client: net.Socket | undefined;
  try {
    client = await silentClient(listener, transport);
    await test({ listener, client, handled });
  } finally {
    client?.destroy();
    await listener.close();
  }
}

/** The server's side of the listener's one connection. */
function serverSocketOf(listener: StreamListener): net.Socket {
  return [...(listener as unknown as { connections: Set<net.Socket> }).connections][0]!;
}

/** Waits (up to 5 s) until no more requests are handled in 200 ms; returns how many were. */
async function untilSettled(count: { value: number }): Promise<number> {
  let settled = -1;
  const started = Date.now();
  while (count.value !== settled && Date.now() - started < 5_000) {
    settled = count.value;
    await sleep(200);
  }
  return settled;
}

describe("StreamListener: a client that sends requests and never reads its answers", () => {
  it("stops reading its requests once its answers back up, and keeps the connection (TCP flow control, not an ever-growing queue)", async () => {
    await withSilentClient("tcp", async ({ client, handled: count }) => {
      let closed = false;
      client.on("close", () => (closed = true));
      const handled = (): number => count.value;
      // 40,000 requests (800 KB) would be 40 MB of answers: far past what the kernel's buffers take.
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => REQUEST));
      for (let i = 0; i < 40 && !closed; i++) {
        client.write(batch);
        await sleep(10);
      }
      await sleep(500);
      const settled = handled();
      await sleep(500);
      expect(closed).toBe(false);
      // Reading has stopped: nothing more handled; the requests wait in the kernel's buffers.
      expect(handled()).toBe(settled);
      expect(handled()).toBeLessThan(40_000);
    });
  }, 15_000);

  it("stops within a chunk: what waits for the client stays near 64 KiB, not a chunk's worth of answers (3,000 and more)", async () => {
    await withSilentClient("tcp", async ({ listener, client, handled: count }) => {
      // One write of 10,000 requests: Node reads it in chunks of up to 64 KiB, 3,276 requests each.
      client.write(Buffer.concat(Array.from({ length: 10_000 }, () => REQUEST)));
      expect(await untilSettled(count)).toBeLessThan(10_000);
      expect(serverSocketOf(listener).writableLength).toBeLessThanOrEqual(ANSWERS_HELD_MOST);
    });
  }, 15_000);

  it("over TLS, one request per record (one frame per chunk read): stops all the same, near 64 KiB", async () => {
    await withSilentClient("tls", async ({ listener, client, handled }) => {
      // A TLS record per request: each write waits for the one before (written at once, they would
      // share records). 20,000 would be 20 MB of answers, far past what the kernel's buffers take;
      // once the server stops reading, a write stays unfinished and the client stops.
      const started = Date.now();
      for (let i = 0; i < 20_000 && Date.now() - started < 5_000; i++) {
        const done = await Promise.race([new Promise<boolean>((resolve) => client.write(REQUEST, () => resolve(true))), sleep(200).then(() => false)]);
        if (!done) break;
      }
      expect(await untilSettled(handled)).toBeLessThan(20_000);
      expect(serverSocketOf(listener).writableLength).toBeLessThanOrEqual(ANSWERS_HELD_MOST);
    });
  }, 15_000);

  it("answers nothing more once the client has gone: its unread requests are dropped with the connection", async () => {
    await withSilentClient("tcp", async ({ client, handled: count }) => {
      client.write(Buffer.concat(Array.from({ length: 20_000 }, () => REQUEST)));
      const settled = await untilSettled(count);
      expect(settled).toBeLessThan(20_000);
      // Unread answers in its buffer: the kernel resets the connection, and the server's writes fail.
      client.destroy();
      await sleep(500);
      expect(count.value).toBe(settled);
    });
  }, 15_000);

  it("reads again once the client reads: every request is answered", async () => {
    await withSilentClient("tcp", async ({ client, handled: count }) => {
      const requests = 20_000;
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => REQUEST));
      for (let i = 0; i < requests / 1000; i++) client.write(batch);
      await sleep(500);
      expect(count.value).toBeLessThan(requests);
      let received = 0;
      client.on("data", (chunk: Buffer) => (received += chunk.length));
      client.resume();
      const started = Date.now();
      while (received < requests * ANSWER.length && Date.now() - started < 10_000) await sleep(20);
      expect(count.value).toBe(requests);
      expect(received).toBe(requests * ANSWER.length);
    });
  }, 15_000);
});

describe("StreamListener: relayed data for a client that does not read", () => {
  it("keeps reading the client's own requests while relayed data waits for it (under the cap): a slow link still gets its media and Refreshes through", async () => {
    let link: ClientLink | undefined;
    const handled = { value: 0 };
    const listener = await openListener((l) => {
      link = l;
      handled.value++;
    });
    const client = await silentClient(listener);
    try {
      client.write(REQUEST);
      await untilSettled(handled);
      expect(link).toBeDefined();
      // Relayed frames it does not read: the kernel's buffers fill, then 256 KiB wait in Node's queue.
      const server = serverSocketOf(listener);
      const payload = Buffer.alloc(1000);
      for (let batch = 0; batch < 500 && server.writableLength < 256 * 1024; batch++) {
        for (let i = 0; i < 64; i++) link!.sendParts(link!.frameHead(4), payload, undefined, "", 0);
        await sleep(5);
      }
      expect(server.writableLength).toBeGreaterThanOrEqual(256 * 1024);
      expect(link!.isOpen()).toBe(true);
      client.write(Buffer.concat(Array.from({ length: 50 }, () => REQUEST)));
      expect(await untilSettled(handled)).toBe(51);
    } finally {
      client.destroy();
      await listener.close();
    }
  }, 15_000);

  it("counts what each queued frame holds beyond its bytes against the 1 MiB cap: 1-byte frames close the link after a few thousand, not 131,072", async () => {
    let accepted = 0;
    let openAfter = true;
    const listener = await openListener((link) => {
      // All in one turn: the socket stays corked, so every frame waits in Node's queue.
      for (let i = 0; i < 200_000 && link.sendParts(Buffer.alloc(4), Buffer.alloc(1), undefined, "", 0); i++) accepted++;
      openAfter = link.isOpen();
    });
    const client = await silentClient(listener);
    try {
      client.write(REQUEST);
      const started = Date.now();
      while (accepted === 0 && Date.now() - started < 5000) await sleep(10);
      expect(accepted).toBeGreaterThan(1000);
      expect(accepted).toBeLessThan(8000);
      expect(openAfter).toBe(false);
    } finally {
      client.destroy();
      await listener.close();
    }
  });
});

describe("StreamListener over TLS: failed handshakes", () => {
  const openTls = (options: Partial<StreamListenerOptions>): Promise<StreamListener> => {
    const pem = testPem();
    return StreamListener.open({
      transport: "tls",
      tls: { cert: Buffer.from(pem.cert), key: Buffer.from(pem.key) },
      address: "127.0.0.1",
      port: 0,
      family: "IPv4",
      idleTimeoutMs: 60_000,
      maxChannelNumber: 0x4fff,
      onPacket: () => {},
      log: createRecordingLogger(),
      ...options,
    });
  };

  it("are logged at info with the client's address, five a minute at most (scanners fail handshakes all day)", async () => {
    const log = createRecordingLogger();
    const listener = await openTls({ log });
    try {
      for (let i = 0; i < 8; i++) {
        // Not a ClientHello: the handshake fails at once.
        const client = net.connect(listener.port, "127.0.0.1", () => client.write("GET / HTTP/1.1\r\n\r\n"));
        client.on("error", () => {});
        await new Promise<void>((resolve) => client.once("close", () => resolve()));
      }
      const lines = log.records.filter((record) => record.msg === "tls handshake failed");
      expect(lines).toHaveLength(5);
      expect(lines[0]).toMatchObject({ level: "info", obj: { client: "127.0.0.1" } });
    } finally {
      await listener.close();
    }
  });

  it.each([
    ["stream-idle-timeout", { idleTimeoutMs: 1000 }],
    ["max-allocate-timeout", { idleTimeoutMs: 60_000, allocateTimeoutMs: 1000 }],
  ] as const)("that stall are closed by %s when it is shorter than the 10 s handshake limit", async (_name, timeouts) => {
    const listener = await openTls(timeouts);
    const client = net.connect(listener.port, "127.0.0.1");
    client.on("error", () => {});
    try {
      const startedAt = Date.now();
      // Connected, and then nothing: no ClientHello.
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 6000);
        client.once("close", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      expect(closed).toBe(true);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    } finally {
      client.destroy();
      await listener.close();
    }
  });
});
