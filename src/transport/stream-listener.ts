import { constants } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import type { IpFamily } from "../stun/address.js";
import type { PacketHandler } from "../turn/dispatch.js";
import type { ClientLink, Clock, Logger } from "../turn/ports.js";
import { createLogBudget } from "../turn/log-budget.js";
import { StreamFramer } from "../turn/stream-framing.js";
import type { ConnectionCaps } from "./connection-caps.js";
import { FrameHeads } from "./frame-heads.js";
import { ListenError } from "./listen-error.js";
import { TurnEndFlush } from "./turn-end-flush.js";

// Relayed data a client that stops reading can make us hold for it (counted as unsentCost does).
const MAX_UNSENT_BYTES = 1 << 20;
// What a write waiting in Node's queue holds beyond its bytes (its entry and Buffer view): measured
// 160 bytes of heap and about 300 of RSS. Counting bytes alone, a client sent small frames it did not
// read held 50-100 times the cap.
const WRITE_OVERHEAD_BYTES = 320;
// Past this much of its answers unsent (counted as unsentCost does), a connection is not read until
// most of them have gone: a client that floods requests and reads no answers cannot have us answer
// without end.
const PAUSE_READING_BYTES = 64 * 1024;
const RESUME_READING_BYTES = 16 * 1024;
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface StreamListenerOptions {
  readonly transport: "tcp" | "tls";
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
  /** Share the port with the other relay threads (SO_REUSEPORT). */
  readonly reusePort?: boolean;
  readonly idleTimeoutMs: number;
  readonly maxChannelNumber: number;
  readonly tls?: TlsMaterial;
  readonly onPacket: PacketHandler;
  /** The connection is gone: whatever it carried (an allocation) goes with it. */
  readonly onClose?: (link: ClientLink) => void;
  /** Raw connections (TLS handshakes included) counted with the other listeners sharing them; past a cap, closed at once. */
  readonly caps?: ConnectionCaps;
  /** coturn's max-allocate-timeout: a connection that has not allocated by then is closed, busy or not. */
  readonly allocateTimeoutMs?: number;
  /** Times max-allocate-timeout: the relay thread's clock (a manual one in tests); Date.now without it. */
  readonly clock?: Clock;
  readonly log: Logger;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * A handshake that stalls is closed at the earliest of its own limit, stream-idle-timeout and
 * max-allocate-timeout: the connection is idle, and has not allocated.
 */
function handshakeTimeoutMs(options: StreamListenerOptions): number {
  return Math.min(TLS_HANDSHAKE_TIMEOUT_MS, options.idleTimeoutMs, options.allocateTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS);
}

/**
 * TLS 1.2 and up, and no renegotiation: a client could otherwise have the relay thread, which relays
 * everyone's media, run full handshakes (a private-key signature each) on one connection for ever.
 */
function tlsContextOptions(material: TlsMaterial): tls.SecureContextOptions {
  return { cert: material.cert, key: material.key, minVersion: "TLSv1.2", secureOptions: constants.SSL_OP_NO_RENEGOTIATION };
}

const DEADLINE_SWEEP_MS = 1000;
const SYSTEM_CLOCK: Clock = { now: () => Date.now() };

// sendParts copies each head into its frame at once, so one head per length serves every frame.
const frameHeads = new FrameHeads();
const turnEnd = new TurnEndFlush();

/** A TCP or TLS listening socket; each connection gets a framer and a link, and its frames go to the dispatcher. */
export class StreamListener {
  readonly port: number;
  private readonly server: net.Server;
  private readonly connections = new Set<net.Socket>();
  /** Every raw connection, so close() ends handshakes still in progress too. */
  private readonly raw = new Set<net.Socket>();
  /** Connections without an allocation, and when they must have one by. */
  private readonly allocateBy = new Map<net.Socket, number>();
  private readonly sweeper: NodeJS.Timeout;

  private constructor(
    server: net.Server,
    port: number,
    private readonly caps: ConnectionCaps | undefined,
    private readonly allocateTimeoutMs: number,
    private readonly clock: Clock,
  ) {
    this.server = server;
    this.port = port;
    this.sweeper = setInterval(() => this.closeOverdue(this.clock.now()), DEADLINE_SWEEP_MS);
    this.sweeper.unref();
  }

  /** Counts a new TCP connection against the caps; closes it at once when over. */
  private admit(socket: net.Socket): boolean {
    const ip = socket.remoteAddress;
    if (ip === undefined) {
      socket.destroy();
      return false;
    }
    const release = this.caps === undefined ? () => {} : this.caps.admit(ip);
    if (release === undefined) {
      socket.destroy();
      return false;
    }
    this.raw.add(socket);
    socket.once("close", () => {
      this.raw.delete(socket);
      release();
    });
    return true;
  }

  private closeOverdue(nowMs: number): void {
    for (const [socket, deadline] of this.allocateBy) {
      if (deadline <= nowMs) {
        this.allocateBy.delete(socket);
        socket.destroy();
      }
    }
  }

  /** Serves new TLS handshakes with this certificate and key (a renewed certificate); connections up keep theirs. */
  setTlsMaterial(material: TlsMaterial): void {
    if (!(this.server instanceof tls.Server)) throw new Error("not a TLS listener");
    this.server.setSecureContext(tlsContextOptions(material));
  }

  static async open(options: StreamListenerOptions): Promise<StreamListener> {
    const { transport, address, family, log } = options;
    let listener: StreamListener | undefined;
    const server =
      transport === "tls"
        ? tls.createServer({ ...tlsContextOptions(options.tls!), handshakeTimeout: handshakeTimeoutMs(options) }, (socket) =>
            listener?.accept(socket, options),
          )
        : net.createServer();
    // The caps count raw connections, so TLS handshakes in progress count too.
    server.on("connection", (socket: net.Socket) => {
      if (!listener) return socket.destroy();
      if (listener.admit(socket) && transport === "tcp") listener.accept(socket, options);
    });
    if (transport === "tls") {
      // A few lines a minute, and a count of the rest: scanners fail handshakes all day, but an
      // operator whose clients all fail one (an expired certificate, say) must see it at info.
      const handshakes = createLogBudget(log, { now: () => performance.now() }, { perInterval: 5, intervalMs: 60_000 });
      // Node reports a handshake timeout (or a broken handshake) here without closing the socket.
      server.on("tlsClientError", (error: Error & { code?: string }, socket: tls.TLSSocket) => {
        const client = socket.remoteAddress;
        socket.destroy();
        handshakes.info({ client, code: error.code, reason: error.message }, "tls handshake failed");
      });
    }
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error) => reject(new ListenError(transport, address, options.port, error)));
      server.listen({ host: address, port: options.port, ipv6Only: family === "IPv6", exclusive: true, reusePort: options.reusePort === true }, () =>
        resolve(),
      );
    });
    server.removeAllListeners("error");
    server.on("error", (error) => log.error({ err: error, listener: `${transport} ${address}` }, "listener error"));
    const port = (server.address() as net.AddressInfo).port;
    listener = new StreamListener(server, port, options.caps, options.allocateTimeoutMs ?? Infinity, options.clock ?? SYSTEM_CLOCK);
    return listener;
  }

  private accept(socket: net.Socket, options: StreamListenerOptions): void {
    const remoteAddress = socket.remoteAddress;
    const remotePort = socket.remotePort;
    if (remoteAddress === undefined || remotePort === undefined) {
      socket.destroy(); // already gone
      return;
    }
    this.connections.add(socket);
    if (this.allocateTimeoutMs !== Infinity) this.allocateBy.set(socket, this.clock.now() + this.allocateTimeoutMs);
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs, () => socket.destroy());
    // Resets are normal, and 'close' releases everything; an error that leaves the socket open (a TLS
    // session attack) ends it here.
    socket.on("error", () => socket.destroy());

    const framer = new StreamFramer(options.maxChannelNumber);
    // Writes handed to the socket and not yet passed to the kernel.
    let pendingWrites = 0;
    const unsentCost = (): number => socket.writableLength + pendingWrites * WRITE_OVERHEAD_BYTES;
    const written = (): void => {
      pendingWrites--;
    };
    // Of those, the answers to the client's own requests, each's cost in write order (the order Node
    // calls back in). Reading pauses on these alone: relayed data backing up towards a slow client
    // must not stop its own media and Refreshes (that data has its cap, MAX_UNSENT_BYTES).
    const answerCosts: number[] = [];
    let answersCost = 0;
    let readingPaused = false;
    const answerWritten = (error?: Error | null): void => {
      pendingWrites--;
      answersCost -= answerCosts.shift() ?? 0;
      // A failed write is a connection going down: Node calls back before it destroys the socket.
      if (error) return;
      if (readingPaused && !socket.destroyed && answersCost <= RESUME_READING_BYTES) {
        readingPaused = false;
        socket.resume();
      }
    };
    const writable = (): boolean => {
      if (socket.destroyed) return false;
      if (unsentCost() <= MAX_UNSENT_BYTES) return true;
      socket.destroy();
      return false;
    };
    const link: ClientLink = {
      transport: options.transport,
      family: options.family,
      localAddress: options.address,
      localPort: this.port,
      // Answers are not capped: reading stops once they back up (below), so one request's answer at
      // most follows.
      send(data) {
        if (socket.destroyed) return;
        turnEnd.hold(socket);
        pendingWrites++;
        const cost = data.length + WRITE_OVERHEAD_BYTES;
        answerCosts.push(cost);
        answersCost += cost;
        socket.write(data, answerWritten);
      },
      // RFC 8656 §12.5: over a stream, ChannelData is padded to a multiple of 4. One write per frame:
      // a write costs Node more than copying a datagram's bytes, and in its queue more than they do.
      sendParts(head, body, tail) {
        if (!writable()) return false;
        const length = head.length + body.length + (tail?.length ?? 0);
        const frame = Buffer.allocUnsafe(length + ((4 - (length & 3)) & 3));
        head.copy(frame, 0);
        body.copy(frame, head.length);
        if (tail) tail.copy(frame, head.length + body.length);
        frame.fill(0, length);
        turnEnd.hold(socket);
        pendingWrites++;
        socket.write(frame, written);
        return true;
      },
      frameHead: (length) => frameHeads.take(length),
      setCarriesAllocation: (carries) => {
        // Before the first allocation ChannelData is garbage ("GET " looks like a channel); after one,
        // media still in flight when it ends is dropped (RFC 8656 §12.4), not a reason to close.
        if (carries) framer.allowChannelData = true;
        socket.setTimeout(carries ? 0 : options.idleTimeoutMs);
        if (carries) this.allocateBy.delete(socket);
        else if (!socket.destroyed && this.allocateTimeoutMs !== Infinity) this.allocateBy.set(socket, this.clock.now() + this.allocateTimeoutMs);
      },
      isOpen: () => !socket.destroyed,
    };
    socket.on("close", () => {
      this.connections.delete(socket);
      this.allocateBy.delete(socket);
      options.onClose?.(link);
    });
    const onFrame = (frame: Buffer): void => {
      options.onPacket(frame, remoteAddress, remotePort, link);
      // Checked frame by frame: a 64 KiB chunk of Binding requests is 3,000 answers, a few MiB queued.
      if (answersCost > PAUSE_READING_BYTES) framer.pause();
    };
    socket.on("data", (chunk: Buffer) => {
      // Requests read before the connection went down are not worth answering.
      if (socket.destroyed) return;
      const result = framer.push(chunk, onFrame);
      if (result === "garbage") {
        // Answers to the requests before the garbage go out first.
        turnEnd.release(socket);
        socket.destroy();
      } else if (result === "paused" && !socket.destroyed) {
        // Paused first: bytes put back into a flowing stream would come straight back as 'data'.
        if (!readingPaused) {
          readingPaused = true;
          socket.pause();
        }
        // The rest of the chunk waits, unread, with what the kernel holds, until the answers drain.
        if (framer.pausedAt < chunk.length) socket.unshift(chunk.subarray(framer.pausedAt));
      }
    });
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    // Settled once every connection has closed too, so that what ends with it (its allocation, and
    // the line saying so) is done before the caller goes on, as at shutdown.
    const closed = [...this.raw].map((socket) => (socket.closed ? undefined : new Promise<void>((resolve) => socket.once("close", () => resolve()))));
    const serverClosed = new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.connections) socket.destroy();
      for (const socket of this.raw) socket.destroy();
    });
    return Promise.all([serverClosed, ...closed]).then(() => undefined);
  }
}
