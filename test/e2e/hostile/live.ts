import dgram from "node:dgram";
import net from "node:net";
import tls from "node:tls";
import v8 from "node:v8";
import vm from "node:vm";
import { configFromObject } from "../../../src/config/config-from-object.js";
import { MessageClass } from "../../../src/stun/constants.js";
import type { Config } from "../../../src/config/config.js";
import { startServer, type ListenerInfo, type RunningServer } from "../../../src/server/server.js";
import { createRecordingLogger } from "../../helpers/logger.js";
import { StreamReader } from "../../helpers/sockets.js";
import { answerOf, message, nonZeroPadding, transactionIdOf, Type, type Answer } from "./wire.js";
export { settled, until } from "../../helpers/until.js";

export type RecordingLogger = ReturnType<typeof createRecordingLogger>;
export type Endpoint = { readonly address: string; readonly port: number };

export const REALM = "example.org";
export const ALICE = { username: "alice", password: "wonderland" } as const;
export const BOB = { username: "bob", password: "builder" } as const;

export function startHostileServer(overrides: Partial<Config>, logger: RecordingLogger): Promise<RunningServer> {
  return startServer(
    configFromObject({
      noApi: true,
      listeningIps: ["127.0.0.1"],
      listeningPort: 0,
      realm: REALM,
      users: [`${ALICE.username}:${ALICE.password}`, `${BOB.username}:${BOB.password}`],
      allowLoopbackPeers: true,
      streamIdleTimeoutSeconds: 1,
      relayThreads: 1,
      ...overrides,
    }),
    // One relay thread runs on this thread, so that the tests can count its sockets and timers.
    { logger, inProcess: (overrides.relayThreads ?? 1) === 1 },
  );
}

export function endpointOf(server: RunningServer, transport: ListenerInfo["transport"]): Endpoint {
  const listener = server.listeners.find((l) => l.transport === transport);
  if (!listener) throw new Error(`no ${transport} listener`);
  return { address: listener.address, port: listener.port };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Uncaught exceptions and unhandled rejections anywhere in this process (the server runs in it with one relay thread, inProcess). */
export function recordProcessFaults(): { readonly uncaught: unknown[]; readonly unhandled: unknown[]; stop(): void } {
  const uncaught: unknown[] = [];
  const unhandled: unknown[] = [];
  const onUncaught = (error: unknown): void => void uncaught.push(error);
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUnhandled);
  return {
    uncaught,
    unhandled,
    stop() {
      process.off("uncaughtException", onUncaught);
      process.off("unhandledRejection", onUnhandled);
    },
  };
}

/** Live handles of one kind (TCPSocketWrap, UDPSocketWrap, Timeout, ...) in this process. */
export function activeHandles(kind: string): number {
  return process.getActiveResourcesInfo().filter((name) => name === kind).length;
}

v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

/** Heap in use after a full collection, so a growth measured across a flood is retained memory, not garbage. */
export function retainedHeapBytes(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** A raw UDP client: sends any bytes, keeps every datagram it gets back. */
export class UdpClient {
  readonly transport = "udp" as const;
  readonly received: Buffer[] = [];
  /** Datagrams sent, retransmissions included. */
  sent = 0;
  /** Transaction IDs of the Binding probes unansweredAfter sent. */
  private readonly probeIds = new Set<string>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly socket: dgram.Socket,
    readonly server: Endpoint,
    readonly localPort: number,
  ) {
    socket.on("message", (bytes) => {
      this.received.push(bytes);
      for (const wake of this.waiters) wake();
    });
  }

  /** `localAddress`: any of 127.0.0.0/8, to speak from another source IP. */
  static async open(server: Endpoint, localAddress = "127.0.0.1"): Promise<UdpClient> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, localAddress, resolve));
    return new UdpClient(socket, server, socket.address().port);
  }

  send(bytes: Buffer): void {
    this.sent++;
    this.socket.send(bytes, this.server.port, this.server.address);
  }

  /** The first datagram received (from now or already queued) that satisfies `accept`, or undefined after `timeoutMs`. */
  async next(accept: (bytes: Buffer) => boolean, timeoutMs = 2000): Promise<Buffer | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex(accept);
      if (index >= 0) return this.received.splice(index, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /**
   * Sends a request and returns the response with its transaction ID, decoded. Retransmits as a
   * STUN client does over UDP (RFC 8489 §6.2.1: RTO doubling from 250 ms here): loopback drops
   * datagrams too when the machine is busy.
   */
  async exchange(bytes: Buffer, timeoutMs = 3000): Promise<Answer> {
    const id = transactionIdOf(bytes);
    const deadline = Date.now() + timeoutMs;
    for (let rto = 250; Date.now() < deadline; rto *= 2) {
      this.send(bytes);
      const answer = await this.next((b) => b.length >= 20 && transactionIdOf(b).equals(id), Math.min(rto, deadline - Date.now()));
      if (answer) return answerOf(answer);
    }
    throw new Error(`no answer to message type 0x${bytes.readUInt16BE(0).toString(16)}`);
  }

  /**
   * Sends `messages` in order, then a Binding request (retransmitted until answered); resolves with
   * every datagram that arrived before the Binding answer or within `graceMs` after it, the Binding
   * answers excepted. The server reads one socket in order, so whatever it answered the hostile
   * messages with is in this list.
   */
  async unansweredAfter(messages: readonly Buffer[], graceMs = 50): Promise<Buffer[]> {
    this.received.splice(0);
    for (const bytes of messages) this.send(bytes);
    const probe = message(Type.BindingRequest);
    this.probeIds.add(transactionIdOf(probe).toString("hex"));
    await this.exchange(probe, 5000);
    await sleep(graceMs);
    // Any probe's: a retransmitted earlier probe may be answered twice, the second time after its call returned.
    return this.received.splice(0).filter((b) => !(b.length >= 20 && this.probeIds.has(transactionIdOf(b).toString("hex"))));
  }

  close(): void {
    this.socket.close();
  }
}

/** A UDP peer on loopback that keeps what it receives, for "nothing was relayed" checks. */
export async function startRecordingPeer(): Promise<{ readonly port: number; readonly received: Buffer[]; send(bytes: Buffer, to: Endpoint): void; close(): Promise<void> }> {
  const socket = dgram.createSocket("udp4");
  const received: Buffer[] = [];
  socket.on("message", (bytes) => received.push(bytes));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: socket.address().port,
    received,
    send: (bytes, to) => socket.send(bytes, to.port, to.address),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** A TCP or TLS connection, connected (and handshaken for TLS), from `localAddress` (any of 127.0.0.0/8). */
export async function connectStream(kind: "tcp" | "tls", server: Endpoint, ca?: Buffer, localAddress = "127.0.0.1"): Promise<net.Socket> {
  const raw = net.connect({ host: server.address, port: server.port, localAddress });
  const socket = kind === "tls" ? tls.connect({ socket: raw, ca, servername: "localhost" }) : raw;
  await new Promise<void>((resolve, reject) => {
    socket.once(kind === "tls" ? "secureConnect" : "connect", () => resolve());
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  socket.on("error", () => {});
  return socket;
}

/** Resolves when the socket closes (with how long it took and what arrived), or with closed: false after `timeoutMs`. */
export function closeOf(socket: net.Socket, timeoutMs: number): Promise<{ closed: boolean; afterMs: number; data: Buffer }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      resolve({ closed, afterMs: Date.now() - started, data: Buffer.concat(chunks) });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    if (socket.destroyed) return finish(true);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("close", () => finish(true));
    socket.on("error", () => {});
  });
}

/** True when the server answers a Binding request over UDP and over a new TCP connection, with zero padding. */
export async function answersBinding(server: RunningServer): Promise<boolean> {
  const udp = await UdpClient.open(endpointOf(server, "udp"));
  try {
    const answer = await udp.exchange(message(Type.BindingRequest)).catch(() => undefined);
    if (answer?.message.messageClass !== MessageClass.SuccessResponse || nonZeroPadding(answer.bytes).length > 0) return false;
  } finally {
    udp.close();
  }
  if (!server.listeners.some((l) => l.transport === "tcp")) return true;
  const tcp = await connectStream("tcp", endpointOf(server, "tcp"));
  try {
    tcp.write(message(Type.BindingRequest));
    const response = await new StreamReader(tcp).readStun(2000).catch(() => undefined);
    return response !== undefined && answerOf(response).message.messageClass === MessageClass.SuccessResponse;
  } finally {
    tcp.destroy();
  }
}

/** A TCP or TLS connection whose TCP socket can be reset (RST) mid-stream, as a crashing client or a middlebox does. */
export async function connectResettable(kind: "tcp" | "tls", server: Endpoint, ca?: Buffer): Promise<{ socket: net.Socket; reset(): void }> {
  const raw = net.connect({ host: server.address, port: server.port });
  raw.on("error", () => {});
  const socket = kind === "tls" ? tls.connect({ socket: raw, ca, servername: "localhost" }) : raw;
  await new Promise<void>((resolve, reject) => {
    socket.once(kind === "tls" ? "secureConnect" : "connect", () => resolve());
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  socket.on("error", () => {});
  return { socket, reset: () => raw.resetAndDestroy() };
}

/** A plain TCP connection to any port (the TLS port included), for bytes that are not TLS. */
export async function connectRaw(server: Endpoint, localAddress = "127.0.0.1"): Promise<net.Socket> {
  const socket = net.connect({ host: server.address, port: server.port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  socket.on("error", () => {});
  return socket;
}
