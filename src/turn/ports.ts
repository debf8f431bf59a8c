import type { IpFamily } from "../stun/address.js";

/** What the protocol core needs from a logger; pino satisfies it, tests pass a recorder. */
export interface Logger {
  trace(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Clock {
  now(): number;
}

export type ClientTransport = "udp" | "tcp" | "tls";

/**
 * The listening side of a client's 5-tuple: a UDP socket or one TCP/TLS connection.
 * Built once per socket or connection, so the per-packet path creates no objects.
 */
export interface ClientLink {
  readonly transport: ClientTransport;
  readonly family: IpFamily;
  readonly localAddress: string;
  readonly localPort: number;
  /** Sends to the client; stream links ignore the address and port (the connection names them). */
  send(data: Buffer, address: string, port: number): void;
}
