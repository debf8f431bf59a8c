// One address (an IPv6 /64) may hold only so many of the endpoint's connections, so that one client
// cannot take every place under the overall cap. Loopback clients are exempt: they are this host's own,
// and a reverse proxy in front of the endpoint reaches it from loopback for every client it serves.
import type { Server, Socket } from "node:net";
import { createConnectionCaps } from "../transport/connection-caps.js";
import { limitSubject } from "../transport/limit-subject.js";
import { isLoopbackAddress } from "./listening-address.js";

export interface PerAddressDrops {
  /** Connections closed so far because their address held its share. */
  readonly count: number;
}

export interface PerAddressCapOptions {
  readonly perAddress: number;
  /** Addresses never capped; loopback ones by default. */
  readonly exempt?: (address: string) => boolean;
  /** Hears of each connection closed, with the address (or /64) it counted against. */
  readonly onDrop: (subject: string) => void;
}

/** Closes each connection over `perAddress` from one address (or IPv6 /64) at once. */
export function capConnectionsPerAddress(server: Server, { perAddress, exempt = isLoopbackAddress, onDrop }: PerAddressCapOptions): PerAddressDrops {
  const caps = createConnectionCaps({ maxConnections: Number.POSITIVE_INFINITY, maxConnectionsPerIp: perAddress });
  let count = 0;
  // TLS too: a tls.Server emits "connection" with the TCP socket, before any handshake.
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || exempt(address)) return;
    const release = caps.admit(address);
    if (release === undefined) {
      count++;
      socket.destroy();
      onDrop(limitSubject(address));
      return;
    }
    socket.once("close", release);
  });
  return {
    get count() {
      return count;
    },
  };
}
