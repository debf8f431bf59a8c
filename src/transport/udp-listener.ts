import dgram from "node:dgram";
import type { IpFamily } from "../stun/address.js";
import type { PacketHandler } from "../turn/dispatch.js";
import { createLogBudget } from "../turn/log-budget.js";
import type { ClientLink, Clock, Logger } from "../turn/ports.js";
import { keepShape } from "../turn/shape-keeper.js";
import { FrameHeads } from "./frame-heads.js";
import { lookupIpLiteral } from "./ip-literal-lookup.js";
import { ListenError } from "./listen-error.js";
import { LISTENER_QUEUE, LISTENER_SHARE, QueueShares } from "./send-queue.js";
import { UdpReplyQueue } from "./udp-reply-queue.js";

export interface UdpListenerOptions {
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
  /** Share the port with the other relay threads (SO_REUSEPORT). */
  readonly reusePort?: boolean;
  readonly onPacket: PacketHandler;
  /** Times the log budget of answers that could not be sent. */
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * Every client's packets queue on this one socket (one per relay thread) while the thread is busy,
 * so it gets a deep buffer: 2 MiB each way, as coturn gives its listeners. Linux caps the request at
 * net.core.rmem_max / wmem_max (often 208 KiB unless raised), without failing.
 */
const LISTENER_BUFFER_BYTES = 2 * 1024 * 1024;

/** Kinds of the shape keeper that hold what a client sent: a server that closes lets them go. */
export const RECEIVED_DATAGRAM = "received datagram";
export const DATAGRAM_SENDER = "datagram sender";
const KEPT_DATAGRAM_WIPE_MS = 60_000;

/** One UDP socket clients send to. Moves datagrams to the dispatcher and answers back; nothing else. */
export class UdpListener {
  readonly link: ClientLink;
  private socket: dgram.Socket;
  /** Out of the port's SO_REUSEPORT group (leaveGroup): nothing is sent or received. */
  private idle = false;
  private readonly options: UdpListenerOptions;
  private readonly replies: UdpReplyQueue;

  private constructor(socket: dgram.Socket, options: UdpListenerOptions, link: ClientLink, replies: UdpReplyQueue) {
    this.socket = socket;
    this.options = options;
    this.link = link;
    this.replies = replies;
  }

  static async open(options: UdpListenerOptions): Promise<UdpListener> {
    const { address, family, clock, log } = options;
    const socket = await bindSocket(options, options.reusePort !== true);
    const port = socket.address().port;
    const failures = createLogBudget(log, clock, { perInterval: 20, intervalMs: 60_000 });
    const replies = new UdpReplyQueue(socket, (error) => failures.error({ err: error, listener: `udp ${address}:${port}` }, "udp answer not sent"));
    const heads = new FrameHeads();
    const shares = new QueueShares(LISTENER_SHARE);
    // dgram copies the list it is given: one pair and one triple serve every send.
    const pair: Buffer[] = [];
    const triple: Buffer[] = [];
    const link: ClientLink = {
      transport: "udp",
      family,
      localAddress: address,
      localPort: port,
      // STUN answers; relayed data (sendParts) goes at once.
      send(data, toAddress, toPort) {
        replies.send(data, toPort, toAddress);
      },
      sendParts(head, body, tail, toAddress, toPort) {
        const { socket } = listener;
        if (listener.idle) return false;
        const waiting = socket.getSendQueueCount();
        const parts = tail ? triple : pair;
        parts[0] = head;
        parts[1] = body;
        if (tail) parts[2] = tail;
        if (waiting === 0) {
          socket.send(parts, toPort, toAddress);
          heads.sent(head, socket.getSendQueueCount() > 0);
          return true;
        }
        // Congested: this one would wait behind others, within the queue's bounds and its destination's share.
        if (waiting >= LISTENER_QUEUE.datagrams || socket.getSendQueueSize() >= LISTENER_QUEUE.bytes) return false;
        const left = shares.admit(toAddress, head.length + body.length + (tail?.length ?? 0));
        if (left === undefined) return false;
        try {
          socket.send(parts, toPort, toAddress, left);
        } catch (error) {
          left(); // never sent: its callback will not come
          throw error;
        }
        heads.sent(head, true);
        return true;
      },
      frameHead: (length) => heads.take(length),
      setCarriesAllocation() {},
      isOpen: () => true,
    };
    const listener = new UdpListener(socket, { ...options, port }, link, replies);
    listener.serve(socket);
    return listener;
  }

  private serve(socket: dgram.Socket): void {
    const { address, port, onPacket, log } = this.options;
    const { link } = this;
    socket.removeAllListeners("error");
    // Send failures (ICMP unreachable surfacing as errors, full buffers) must not take the listener down.
    socket.on("error", (error) => log.debug({ err: error, listener: `udp ${address}:${port}` }, "udp socket error"));
    socket.on("message", (bytes, rinfo) => onPacket(bytes, rinfo.address, rinfo.port, link));
    // Relay sockets' datagrams come with the same two hidden classes (see shape-keeper.ts).
    socket.once("message", (bytes, rinfo) => {
      if (!keepShape(RECEIVED_DATAGRAM, bytes) || !keepShape(DATAGRAM_SENDER, rinfo)) return;
      // Kept for their hidden classes only: what the client sent, and from where, is wiped once no send
      // can still be waiting on those bytes (writing values of the same types keeps the classes).
      setTimeout(() => {
        bytes.fill(0);
        rinfo.address = "";
        rinfo.port = 0;
      }, KEPT_DATAGRAM_WIPE_MS).unref();
    });
  }

  /**
   * Closes the socket, leaving the port's SO_REUSEPORT group, until joinGroup. The kernel hands each
   * client to a socket by its place in that group, and the threads put themselves back in order by
   * leaving and joining again (see worker-pool). Datagrams waiting in the socket's buffer are lost.
   */
  leaveGroup(): void {
    if (this.idle) return;
    this.idle = true;
    this.replies.close();
    this.socket.close();
  }

  /** Binds a new socket on the same address and port: it takes the last place in the group. */
  async joinGroup(): Promise<void> {
    if (!this.idle) return;
    const socket = await bindSocket(this.options, false);
    this.socket = socket;
    this.serve(socket);
    this.replies.moveTo(socket);
    this.idle = false;
  }

  /** What the kernel granted (Linux reports twice the bytes asked for, capped by net.core.rmem_max). */
  get receiveBufferBytes(): number {
    return this.socket.getRecvBufferSize();
  }

  close(): Promise<void> {
    this.replies.close();
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}

/** A socket bound to the listener's address and port; the lookup answers at once, so the kernel binds within bind(). */
async function bindSocket(options: UdpListenerOptions, exclusive: boolean): Promise<dgram.Socket> {
  const { address, port } = options;
  const socket = dgram.createSocket({
    type: options.family === "IPv6" ? "udp6" : "udp4",
    ipv6Only: options.family === "IPv6",
    reusePort: options.reusePort === true,
    lookup: lookupIpLiteral,
    recvBufferSize: LISTENER_BUFFER_BYTES,
    sendBufferSize: LISTENER_BUFFER_BYTES,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (error) => reject(new ListenError("udp", address, port, error)));
    socket.bind({ address, port, exclusive }, () => resolve());
  }).catch((error: unknown) => {
    socket.close();
    throw error;
  });
  return socket;
}
