import dgram from "node:dgram";
import type { IpFamily } from "../stun/address.js";
import type { PacketHandler } from "../turn/dispatch.js";
import type { ClientLink, Logger } from "../turn/ports.js";
import { lookupIpLiteral } from "./ip-literal-lookup.js";
import { ListenError } from "./listen-error.js";

export interface UdpListenerOptions {
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
  /** Share the port with the other relay threads (SO_REUSEPORT). */
  readonly reusePort?: boolean;
  readonly onPacket: PacketHandler;
  readonly log: Logger;
}

/** One UDP socket clients send to. Moves datagrams to the dispatcher and answers back; nothing else. */
export class UdpListener {
  readonly link: ClientLink;
  private readonly socket: dgram.Socket;

  private constructor(socket: dgram.Socket, link: ClientLink) {
    this.socket = socket;
    this.link = link;
  }

  static async open(options: UdpListenerOptions): Promise<UdpListener> {
    const { address, family, onPacket, log } = options;
    const socket = dgram.createSocket({
      type: family === "IPv6" ? "udp6" : "udp4",
      ipv6Only: family === "IPv6",
      reusePort: options.reusePort === true,
      lookup: lookupIpLiteral,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", (error) => reject(new ListenError("udp", address, options.port, error)));
      socket.bind({ address, port: options.port, exclusive: options.reusePort !== true }, () => resolve());
    }).catch((error: unknown) => {
      socket.close();
      throw error;
    });
    const port = socket.address().port;
    const link: ClientLink = {
      transport: "udp",
      family,
      localAddress: address,
      localPort: port,
      send(data, toAddress, toPort) {
        socket.send(data, toPort, toAddress);
      },
      sendParts(head, body, tail, toAddress, toPort) {
        socket.send(tail ? [head, body, tail] : [head, body], toPort, toAddress);
      },
      setCarriesAllocation() {},
      isOpen: () => true,
    };
    socket.removeAllListeners("error");
    // Send failures (ICMP unreachable surfacing as errors, full buffers) must not take the listener down.
    socket.on("error", (error) => log.debug({ err: error, listener: `udp ${address}:${port}` }, "udp socket error"));
    socket.on("message", (bytes, rinfo) => onPacket(bytes, rinfo.address, rinfo.port, link));
    return new UdpListener(socket, link);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}
