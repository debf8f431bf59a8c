import dgram from "node:dgram";
import net from "node:net";
import type { IpFamily } from "../stun/address.js";
import { ListenError } from "./listen-error.js";

export interface ProbeTarget {
  readonly transport: "udp" | "tcp" | "tls";
  readonly address: string;
  readonly family: IpFamily;
  readonly port: number;
}

/**
 * Binds every target exclusively (no SO_REUSEPORT) and releases it, returning the ports got (port 0
 * becomes an ephemeral one). Relay threads share their ports with SO_REUSEPORT, which would also let
 * a second turnpike of the same user silently share them; a plain bind fails on any holder, so this
 * turns "already in use" into a start error before the threads bind.
 */
export async function probePorts(targets: readonly ProbeTarget[]): Promise<ProbeTarget[]> {
  const held: (() => Promise<void>)[] = [];
  const got: ProbeTarget[] = [];
  try {
    for (const target of targets) {
      const { port, release } = target.transport === "udp" ? await holdUdp(target) : await holdTcp(target);
      held.push(release);
      got.push({ ...target, port });
    }
    return got;
  } finally {
    await Promise.all(held.map((release) => release()));
  }
}

function holdUdp({ address, family, port }: ProbeTarget): Promise<{ port: number; release: () => Promise<void> }> {
  const socket = dgram.createSocket({ type: family === "IPv6" ? "udp6" : "udp4", ipv6Only: family === "IPv6" });
  return new Promise((resolve, reject) => {
    socket.once("error", (error) => {
      socket.close();
      reject(new ListenError("udp", address, port, error));
    });
    socket.bind({ address, port, exclusive: true }, () =>
      resolve({ port: socket.address().port, release: () => new Promise((done) => socket.close(() => done())) }),
    );
  });
}

function holdTcp({ transport, address, family, port }: ProbeTarget): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    server.once("error", (error) => reject(new ListenError(transport, address, port, error)));
    server.listen({ host: address, port, ipv6Only: family === "IPv6", exclusive: true }, () =>
      resolve({ port: (server.address() as net.AddressInfo).port, release: () => new Promise((done) => server.close(() => done())) }),
    );
  });
}
