import type { IpFamily } from "../../src/stun/address.js";
import {
  RelayUnavailableError,
  type ClientLink,
  type ClientTransport,
  type PeerPacketHandler,
  type RelayAllocation,
  type RelayAllocator,
  type RelayRequest,
  type RelaySocket,
} from "../../src/turn/ports.js";

export interface SentDatagram {
  readonly data: Buffer;
  readonly address: string;
  readonly port: number;
}

/** A client link that records what the server sends back. */
export class FakeLink implements ClientLink {
  readonly sent: SentDatagram[] = [];
  carriesAllocation = false;
  open = true;

  constructor(
    readonly transport: ClientTransport = "udp",
    readonly family: IpFamily = "IPv4",
    readonly localAddress = "192.0.2.10",
    readonly localPort = 3478,
  ) {}

  send(data: Buffer, address: string, port: number): void {
    this.sent.push({ data: Buffer.from(data), address, port });
  }
  sendParts(head: Buffer, body: Buffer, tail: Buffer | undefined, address: string, port: number): void {
    this.sent.push({ data: Buffer.concat(tail ? [head, body, tail] : [head, body]), address, port });
  }
  frameHead(length: number): Buffer {
    return Buffer.alloc(length);
  }
  setCarriesAllocation(carries: boolean): void {
    this.carriesAllocation = carries;
  }
  isOpen(): boolean {
    return this.open;
  }
  take(): SentDatagram[] {
    return this.sent.splice(0);
  }
}

export class FakeRelaySocket implements RelaySocket {
  readonly sent: SentDatagram[] = [];
  closed = false;
  constructor(
    readonly family: IpFamily,
    readonly address: string,
    readonly port: number,
    public handler: PeerPacketHandler,
  ) {}
  send(data: Buffer, port: number, address: string): void {
    this.sent.push({ data: Buffer.from(data), address, port });
  }
  close(): void {
    this.closed = true;
  }
  /** A datagram from a peer arriving on this relayed address. */
  receive(data: Buffer, address: string, port: number): void {
    this.handler(data, address, port);
  }
}

/** Hands out relay sockets on a fixed set of ports; no I/O. */
export class FakeRelayAllocator implements RelayAllocator {
  readonly sockets: FakeRelaySocket[] = [];
  private readonly free = new Map<IpFamily, number[]>();
  private readonly reservations = new Map<string, FakeRelaySocket>();
  families: readonly IpFamily[] = ["IPv4", "IPv6"];

  constructor(ports: readonly number[] = [50000, 50002, 50004, 50006, 50008]) {
    this.free.set("IPv4", [...ports]);
    this.free.set("IPv6", [...ports]);
  }

  async allocate(request: RelayRequest): Promise<RelayAllocation> {
    if (!this.families.includes(request.family)) throw new RelayUnavailableError("no-address", "no address");
    const port = this.free.get(request.family)!.shift();
    if (port === undefined) throw new RelayUnavailableError("no-port", "no port");
    const address = request.family === "IPv4" ? "198.51.100.1" : "2001:db8::1";
    const socket = new FakeRelaySocket(request.family, address, port, request.onPacket);
    const close = socket.close.bind(socket);
    socket.close = () => {
      if (!socket.closed) this.free.get(request.family)!.push(port);
      close();
    };
    this.sockets.push(socket);
    if (request.evenPort?.reserveNext) {
      const reserved = new FakeRelaySocket(request.family, address, port + 1, () => {});
      const token = Buffer.from("0102030405060708", "hex");
      this.reservations.set(token.toString("hex"), reserved);
      return { socket, reservationToken: token };
    }
    return { socket };
  }

  async claimReservation(token: Buffer, onPacket: PeerPacketHandler): Promise<RelaySocket> {
    const socket = this.reservations.get(token.toString("hex"));
    if (!socket) throw new RelayUnavailableError("bad-token", "unknown token");
    this.reservations.delete(token.toString("hex"));
    socket.handler = onPacket;
    this.sockets.push(socket);
    return socket;
  }

  advertisedAddress(socket: RelaySocket): string {
    return socket.address;
  }

  sweepReservations(): void {}
}
