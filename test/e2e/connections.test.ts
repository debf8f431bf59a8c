import dgram from "node:dgram";
import net from "node:net";
import tls from "node:tls";
import stun from "stun";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import type { Config } from "../../src/config/config.js";
import { Method, MessageClass } from "../../src/stun/constants.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { readStream, StreamReader } from "../helpers/sockets.js";
import { makeSelfSignedCertificate, type TestCertificate } from "../helpers/tls-cert.js";
import { channelData, decode, errorCode } from "../helpers/turn-messages.js";
import { SocketTurnClient } from "../helpers/turn-socket-client.js";
import { until } from "../helpers/until.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(overrides: Partial<Config>): Promise<{ server: RunningServer; port: number }> {
  const server = await startServer(
    configFromObject({ noApi: true, relayThreads: 1, listeningIps: ["127.0.0.1"], listeningPort: 0, noUdp: true, users: ["alice:pw"], realm: "r", ...overrides }),
    { logger: createRecordingLogger() },
  );
  cleanups.push(() => server.close());
  return { server, port: server.listeners.find((l) => l.transport === "tcp")!.port };
}

async function connect(port: number, localAddress = "127.0.0.1", host = "127.0.0.1"): Promise<net.Socket> {
  const socket = net.connect({ host, port, localAddress });
  socket.on("error", () => {});
  // Flowing, so that a close by the server is seen (socket.closed) whether or not the test reads.
  socket.resume();
  cleanups.push(() => {
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  return socket;
}

/** True when the server closes the connection within `ms`. */
async function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return (await readStream(socket, ms)).closed;
}

/**
 * How many of `sockets` the server closed: waits up to 3 s for `expected` of them (the relay thread
 * may be slow to get to them), then 200 ms more for any past that.
 */
async function closedCount(sockets: readonly net.Socket[], expected: number): Promise<number> {
  const count = () => sockets.filter((s) => s.closed).length;
  await until(() => count() >= expected, 3000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return count();
}

/** A new connection that answers a Binding, tried again for up to 3 s while the server may still be at its cap. */
async function servedWithin3s(port: number): Promise<boolean> {
  const deadline = Date.now() + 3000;
  do {
    if (await answersBinding(await connect(port))) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  } while (Date.now() < deadline);
  return false;
}

/** A TLS connection once its handshake is done; destroyed after the test. */
async function secureConnect(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  const secure = tls.connect(options);
  cleanups.push(() => {
    secure.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    secure.once("secureConnect", () => resolve());
    secure.once("error", reject);
  });
  return secure;
}

async function answersBinding(socket: net.Socket): Promise<boolean> {
  const reader = new StreamReader(socket);
  socket.write(stun.encode(stun.createMessage(stun.constants.STUN_BINDING_REQUEST)));
  try {
    await reader.readStun(1000);
    return true;
  } catch {
    return false;
  }
}

describe("TCP connection caps", () => {
  it("closes connections from one IP past max-tcp-connections-per-ip at once, serves the rest and other addresses", async () => {
    const { port } = await start({ maxTcpConnectionsPerIp: 5 });
    const sockets = await Promise.all(Array.from({ length: 8 }, () => connect(port)));
    expect(await closedCount(sockets, 3)).toBe(3);
    const open = sockets.filter((s) => !s.closed);
    expect(await answersBinding(open[0]!)).toBe(true);
    // 127.0.0.2 is another source address on loopback.
    expect(await answersBinding(await connect(port, "127.0.0.2"))).toBe(true);
  });

  it("closes connections past max-tcp-connections, and accepts again when one goes", async () => {
    const { port } = await start({ maxTcpConnections: 4 });
    const sockets = await Promise.all(Array.from({ length: 4 }, () => connect(port)));
    const extra = await connect(port);
    expect(await closedWithin(extra, 3000)).toBe(true);
    sockets[0]!.destroy();
    expect(await servedWithin3s(port)).toBe(true);
  });
});

describe("TCP/TLS connection caps are the relay thread's, across its listeners", () => {
  let certificate: TestCertificate;
  beforeAll(() => {
    certificate = makeSelfSignedCertificate();
  });
  afterAll(() => certificate?.remove());

  const portOf = (server: RunningServer, transport: "tcp" | "tls", address = "127.0.0.1"): number =>
    server.listeners.find((l) => l.transport === transport && l.address === address)!.port;

  /**
   * Opens the connections and counts those the server closed. Each listening socket has its own
   * accept queue, so the server may take them in another order than they were made: count, not which.
   */
  async function closedOf(targets: readonly { port: number; host?: string }[], from: string, expected: number): Promise<number> {
    const sockets: net.Socket[] = [];
    for (const { port, host } of targets) sockets.push(await connect(port, from, host));
    return closedCount(sockets, expected);
  }

  it("max-tcp-connections-per-ip holds over every listening address", async () => {
    const { server } = await start({ listeningIps: ["127.0.0.1", "127.0.0.2"], maxTcpConnectionsPerIp: 4 });
    const one = { port: portOf(server, "tcp", "127.0.0.1") };
    const two = { port: portOf(server, "tcp", "127.0.0.2"), host: "127.0.0.2" };
    expect(await closedOf([one, one, two, two, one, two], "127.0.0.3", 2)).toBe(2);
    expect(await answersBinding(await connect(two.port, "127.0.0.4", two.host))).toBe(true);
  });

  it("max-tcp-connections holds over every listening address", async () => {
    const { server } = await start({ listeningIps: ["127.0.0.1", "127.0.0.2"], maxTcpConnections: 4 });
    const one = { port: portOf(server, "tcp", "127.0.0.1") };
    const two = { port: portOf(server, "tcp", "127.0.0.2"), host: "127.0.0.2" };
    expect(await closedOf([one, two], "127.0.0.3", 0)).toBe(0);
    expect(await closedOf([two, one], "127.0.0.4", 0)).toBe(0);
    expect(await closedOf([one, two], "127.0.0.5", 2)).toBe(2);
  });

  it("TCP and TLS connections (handshakes included) count against one max-tcp-connections-per-ip; a failed handshake gives its slot back", async () => {
    const { server } = await start({ cert: certificate.certPath, pkey: certificate.keyPath, tlsListeningPort: 0, maxTcpConnectionsPerIp: 3 });
    const tcp = { port: portOf(server, "tcp") };
    const tlsPort = { port: portOf(server, "tls") };
    expect(await closedOf([tcp, tlsPort], "127.0.0.3", 0)).toBe(0);
    const broken = await connect(tlsPort.port, "127.0.0.3");
    broken.write(Buffer.from("not a ClientHello, not at all"));
    expect(await closedWithin(broken, 3000)).toBe(true);
    expect(await closedOf([tlsPort, tcp], "127.0.0.3", 1)).toBe(1);
    // Another IP is served over TLS: the whole handshake, then STUN.
    const secure = await secureConnect({ socket: await connect(tlsPort.port, "127.0.0.4"), ca: certificate.cert, servername: "localhost" });
    expect(await answersBinding(secure)).toBe(true);
  });
});

describe("TCP connection caps across relay threads (the kernel spreads one address's connections over them)", () => {
  it("max-tcp-connections-per-ip 1 holds with two relay threads: one connection stays, the rest are closed", async () => {
    const { port } = await start({ relayThreads: 2, maxTcpConnectionsPerIp: 1 });
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 8; i++) sockets.push(await connect(port, "127.0.0.3"));
    expect(await closedCount(sockets, 7)).toBe(7);
  });

  it("max-tcp-connections 1 holds with two relay threads, over clients of different addresses", async () => {
    const { port } = await start({ relayThreads: 2, maxTcpConnections: 1 });
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 8; i++) sockets.push(await connect(port, `127.0.0.${10 + i}`));
    expect(await closedCount(sockets, 7)).toBe(7);
  });

  it("admits up to max-tcp-connections-per-ip, however the connections fall on the threads, and admits again once one closes", async () => {
    const { port } = await start({ relayThreads: 2, maxTcpConnectionsPerIp: 4 });
    for (const from of ["127.0.0.20", "127.0.0.21", "127.0.0.22", "127.0.0.23"]) {
      const sockets: net.Socket[] = [];
      for (let i = 0; i < 4; i++) sockets.push(await connect(port, from));
      expect(await Promise.all(sockets.map((socket) => answersBinding(socket)))).toEqual([true, true, true, true]);
      const fifth = await connect(port, from);
      expect(await closedWithin(fifth, 3000)).toBe(true);
      sockets[0]!.destroy();
      let served = false;
      for (let attempt = 0; attempt < 100 && !served; attempt++) {
        served = await answersBinding(await connect(port, from));
        if (!served) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(served).toBe(true);
    }
  });
});

describe("TLS", () => {
  let certificate: TestCertificate;
  beforeAll(() => {
    certificate = makeSelfSignedCertificate();
  });
  afterAll(() => certificate?.remove());

  it("refuses a client's renegotiation (TLS 1.2), which would have the relay thread sign handshake after handshake", async () => {
    const { server } = await start({ cert: certificate.certPath, pkey: certificate.keyPath, tlsListeningPort: 0 });
    const port = server.listeners.find((l) => l.transport === "tls")!.port;
    const secure = await secureConnect({ host: "127.0.0.1", port, ca: certificate.cert, servername: "localhost", maxVersion: "TLSv1.2" });
    secure.on("error", () => {});
    expect(await answersBinding(secure)).toBe(true);
    const renegotiated = await new Promise<boolean>((resolve) => {
      secure.once("close", () => resolve(false));
      secure.renegotiate({ rejectUnauthorized: false }, (error) => resolve(error === null || error === undefined));
    });
    expect(renegotiated).toBe(false);
  });
});

describe("two Allocates in one TCP write", () => {
  it("the second, sent while the first (EVEN-PORT: it waits) binds its relay, gets 437 instead of no answer", async () => {
    // TCP clients do not retransmit: an unanswered request waits out the client's whole transaction timeout.
    const { port } = await start({});
    const client = await SocketTurnClient.stream("tcp", { address: "127.0.0.1", port }, { username: "alice", password: "pw", realm: "r" });
    cleanups.push(() => client.close());
    // A first Allocate learns the nonce (through its 401); it is deleted, and then two are sent at once.
    expect((await client.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }])).messageClass).toBe(MessageClass.SuccessResponse);
    expect((await client.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }])).messageClass).toBe(MessageClass.SuccessResponse);
    const attributes = [{ name: "REQUESTED-TRANSPORT", value: 17 }, { name: "EVEN-PORT", value: false }] as const;
    const first = client.builder.build(Method.Allocate, attributes);
    const second = client.builder.build(Method.Allocate, attributes);
    client.send(Buffer.concat([first, second]));
    const answerTo = (request: Buffer) => client.next((frame) => frame.subarray(8, 20).equals(request.subarray(8, 20)), 3000);
    const toFirst = await answerTo(first);
    const toSecond = await answerTo(second);
    expect(toFirst && decode(toFirst).messageClass).toBe(MessageClass.SuccessResponse);
    expect(toSecond && errorCode(decode(toSecond))).toBe(437);
  });
});

describe("max-allocate-timeout", () => {
  it("closes a busy connection that never allocates, and keeps one that did", async () => {
    const { port } = await start({ maxAllocateTimeoutSeconds: 1 });
    const started = Date.now();
    const chatty = await connect(port);
    const timer = setInterval(() => chatty.write(stun.encode(stun.createMessage(stun.constants.STUN_BINDING_REQUEST))), 200);
    cleanups.push(() => clearInterval(timer));
    const allocated = await SocketTurnClient.stream("tcp", { address: "127.0.0.1", port }, { username: "alice", password: "pw", realm: "r" });
    cleanups.push(() => allocated.close());
    expect((await allocated.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }])).messageClass).toBe(MessageClass.SuccessResponse);
    expect(await closedWithin(chatty, 3000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(allocated.closed).toBe(false);
    expect((await allocated.request(Method.Refresh)).messageClass).toBe(MessageClass.SuccessResponse);
  });
});

describe("max-allocate-timeout on the relay thread's clock", () => {
  it("closes a connection that has not allocated once the clock passes the timeout, without waiting it out", async () => {
    const clock = new ManualClock();
    const server = await startServer(
      configFromObject({ noApi: true, relayThreads: 1, listeningIps: ["127.0.0.1"], listeningPort: 0, noUdp: true, users: ["alice:pw"], realm: "r", maxAllocateTimeoutSeconds: 120 }),
      { logger: createRecordingLogger(), inProcess: true, clock },
    );
    cleanups.push(() => server.close());
    const port = server.listeners.find((l) => l.transport === "tcp")!.port;
    const waiting = await connect(port);
    const allocated = await SocketTurnClient.stream("tcp", { address: "127.0.0.1", port }, { username: "alice", password: "pw", realm: "r" });
    cleanups.push(() => allocated.close());
    expect((await allocated.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }])).messageClass).toBe(MessageClass.SuccessResponse);
    // Two minutes pass on the clock (the allocation has eight more); the listener looks once a second.
    expect(await closedWithin(waiting, 1500)).toBe(false);
    clock.advance(120_000);
    expect(await closedWithin(waiting, 3000)).toBe(true);
    expect(allocated.closed).toBe(false);
  });
});

describe("ChannelData on a TCP connection whose allocation has ended", () => {
  it("is dropped (RFC 8656 §12.4), and the connection stays up for a new Allocate", async () => {
    const { server, port } = await start({ allowLoopbackPeers: true });
    const client = await SocketTurnClient.stream("tcp", { address: "127.0.0.1", port }, { username: "alice", password: "pw", realm: "r" });
    cleanups.push(() => client.close());
    const udp = [{ name: "REQUESTED-TRANSPORT", value: 17 }] as const;
    expect((await client.request(Method.Allocate, udp)).messageClass).toBe(MessageClass.SuccessResponse);
    const peer = { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "127.0.0.1", port: 9 } } as const;
    expect((await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4001 }, peer])).messageClass).toBe(MessageClass.SuccessResponse);
    expect((await client.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }])).messageClass).toBe(MessageClass.SuccessResponse);
    // Media the client had in flight when the allocation ended.
    const frame = Buffer.alloc(8);
    frame.writeUInt16BE(0x4001, 0);
    frame.writeUInt16BE(4, 2);
    client.send(frame);
    expect((await client.request(Method.Allocate, udp)).messageClass).toBe(MessageClass.SuccessResponse);
    expect(client.closed).toBe(false);
    // Relay threads report their counters to the main thread now and then.
    for (let waited = 0; server.stats().droppedPackets === 0 && waited < 3000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.stats().droppedPackets).toBe(1);
  });
});

describe("bps-capacity on a live server", () => {
  it("refuses allocations past bps-capacity / max-bps with 508 at once, and shows both limits in stats", async () => {
    const { server } = await start({ noUdp: false, maxBps: 1000, bpsCapacity: 2500, users: ["alice:pw", "bob:pw", "carol:pw"] });
    const udp = server.listeners.find((l) => l.transport === "udp")!;
    const codes: (number | undefined)[] = [];
    for (const user of ["alice", "bob", "carol"]) {
      const client = await SocketTurnClient.udp({ address: "127.0.0.1", port: udp.port }, { username: user, password: "pw", realm: "r" });
      cleanups.push(() => client.close());
      const response = await client.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }]);
      codes.push(response.messageClass === MessageClass.SuccessResponse ? 0 : errorCode(response));
    }
    expect(codes).toEqual([0, 0, 508]);
    expect(server.stats()).toMatchObject({ maxBps: 1000, bpsCapacity: 2500, totalQuota: 2 });
  });
});

describe("max-bps across a reload on a live server", () => {
  it("puts the new max-bps on allocations already relaying: lifted to none, a limit comes back", async () => {
    const base = { noUdp: false, maxBps: 2000, allowLoopbackPeers: true };
    const { server } = await start(base);
    const peer = dgram.createSocket("udp4");
    cleanups.push(() => new Promise<void>((resolve) => peer.close(() => resolve())));
    let received = 0;
    peer.on("message", () => received++);
    await new Promise<void>((resolve) => peer.bind(0, "127.0.0.1", () => resolve()));
    const udp = server.listeners.find((l) => l.transport === "udp")!;
    const client = await SocketTurnClient.udp({ address: "127.0.0.1", port: udp.port }, { username: "alice", password: "pw", realm: "r" });
    cleanups.push(() => client.close());
    expect((await client.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }])).messageClass).toBe(MessageClass.SuccessResponse);
    const peerAddress = { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "127.0.0.1", port: peer.address().port } } as const;
    expect((await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peerAddress])).messageClass).toBe(MessageClass.SuccessResponse);
    /** What the peer gets of 50 datagrams of 500 bytes sent back to back. */
    const burst = async (): Promise<number> => {
      const before = received;
      for (let i = 0; i < 50; i++) client.send(channelData(0x4000, Buffer.alloc(500)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      return received - before;
    };
    // A second's worth, 2,000 bytes: four pass, and the few the bucket refills with meanwhile.
    expect(await burst()).toBeLessThan(10);
    await server.reload(configFromObject({ ...base, noApi: true, relayThreads: 1, listeningIps: ["127.0.0.1"], listeningPort: 0, users: ["alice:pw"], realm: "r", maxBps: 0 }));
    expect(await burst()).toBe(50);
    await server.reload(configFromObject({ ...base, noApi: true, relayThreads: 1, listeningIps: ["127.0.0.1"], listeningPort: 0, users: ["alice:pw"], realm: "r", maxBps: 2000 }));
    expect(await burst()).toBeLessThan(10);
  });
});

