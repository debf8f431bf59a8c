import net from "node:net";
import tls from "node:tls";
import type { IpFamily } from "../stun/address.js";
import type { PacketHandler } from "../turn/dispatch.js";
import type { ClientLink, Logger } from "../turn/ports.js";
import { StreamFramer } from "../turn/stream-framing.js";
import { ListenError } from "./listen-error.js";

// A client that stops reading cannot make us hold more than this for it.
const MAX_UNSENT_BYTES = 1 << 20;
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
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly onPacket: PacketHandler;
  /** The connection is gone: whatever it carried (an allocation) goes with it. */
  readonly onClose?: (link: ClientLink) => void;
  readonly log: Logger;
}

const ZERO_PADDING = Buffer.alloc(3);

/** A TCP or TLS listening socket; each connection gets a framer and a link, and its frames go to the dispatcher. */
export class StreamListener {
  readonly port: number;
  private readonly server: net.Server;
  private readonly connections = new Set<net.Socket>();

  private constructor(server: net.Server, port: number) {
    this.server = server;
    this.port = port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  static async open(options: StreamListenerOptions): Promise<StreamListener> {
    const { transport, address, family, log } = options;
    let listener: StreamListener | undefined;
    const onSocket = (socket: net.Socket): void => listener?.accept(socket, options);
    const server =
      transport === "tls"
        ? tls.createServer(
            { cert: options.tls!.cert, key: options.tls!.key, minVersion: "TLSv1.2", handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
            onSocket,
          )
        : net.createServer(onSocket);
    if (transport === "tls") {
      server.on("tlsClientError", (error: Error) => log.debug({ err: error }, "tls handshake failed"));
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
    listener = new StreamListener(server, port);
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
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs, () => socket.destroy());
    socket.on("error", () => {}); // resets are normal; 'close' releases everything

    const framer = new StreamFramer(options.maxChannelNumber);
    const writable = (): boolean => {
      if (socket.destroyed) return false;
      if (socket.writableLength <= MAX_UNSENT_BYTES) return true;
      socket.destroy();
      return false;
    };
    const link: ClientLink = {
      transport: options.transport,
      family: options.family,
      localAddress: options.address,
      localPort: this.port,
      send(data) {
        if (writable()) socket.write(data);
      },
      // RFC 8656 §12.5: over a stream, ChannelData is padded to a multiple of 4.
      sendParts(head, body, tail) {
        if (!writable()) return;
        const length = head.length + body.length + (tail?.length ?? 0);
        const padding = (4 - (length & 3)) & 3;
        socket.cork();
        socket.write(head);
        socket.write(body);
        if (tail) socket.write(tail);
        if (padding > 0) socket.write(ZERO_PADDING.subarray(0, padding));
        socket.uncork();
      },
      setCarriesAllocation(carries) {
        framer.allowChannelData = carries;
        socket.setTimeout(carries ? 0 : options.idleTimeoutMs);
      },
      isOpen: () => !socket.destroyed,
    };
    socket.on("close", () => {
      this.connections.delete(socket);
      options.onClose?.(link);
    });
    const onFrame = (frame: Buffer): void => options.onPacket(frame, remoteAddress, remotePort, link);
    socket.on("data", (chunk: Buffer) => {
      if (framer.push(chunk, onFrame) === "garbage") socket.destroy();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.connections) socket.destroy();
    });
  }
}
