import type { IpFamily } from "../../src/stun/address.js";
import {
  RelayUnavailableError,
  type ClientLink,
  type Clock,
  type ClientTransport,
  type PeerPacketHandler,
  type RelayAllocation,
  type RelayAllocator,
  type RelayRequest,
  type RelaySocket,
  type ReservationClaimer,
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
  /** As a real link whose send queue is full: sendParts drops (returns false) and records nothing. */
  queueFull = false;

  constructor(
    readonly transport: ClientTransport = "udp",
    readonly family: IpFamily = "IPv4",
    readonly localAddress = "192.0.2.10",
    readonly localPort = 3478,
  ) {}

  send(data: Buffer, address: string, port: number): void {
    this.sent.push({ data: Buffer.from(data), address, port });
  }
  sendParts(head: Buffer, body: Buffer, tail: Buffer | undefined, address: string, port: number): boolean {
    if (this.queueFull) return false;
    this.sent.push({ data: Buffer.concat(tail ? [head, body, tail] : [head, body]), address, port });
    return true;
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
  /** As a real relay socket whose send queue is full: send drops (returns false) and records nothing. */
  queueFull = false;
  constructor(
    readonly family: IpFamily,
    readonly address: string,
    readonly port: number,
    public handler: PeerPacketHandler,
  ) {}
  send(data: Buffer, port: number, address: string): boolean {
    if (this.queueFull) return false;
    this.sent.push({ data: Buffer.from(data), address, port });
    return true;
  }
  close(): void {
    this.closed = true;
  }
  /** A datagram from a peer arriving on this relayed address. */
  receive(data: Buffer, address: string, port: number): void {
    this.handler(data, address, port);
  }
}

/** RFC 8656 §7.2's 30 s, as the real allocator holds a reserved port. */
const RESERVATION_LIFETIME_MS = 30_000;

/**
 * Hands out relay sockets on a fixed set of ports; no I/O. With a clock, EVEN-PORT reservations expire
 * as the real allocator's do; each one's onReservationEnd is called once, whatever ends it.
 */
export class FakeRelayAllocator implements RelayAllocator {
  readonly sockets: FakeRelaySocket[] = [];
  private readonly free = new Map<IpFamily, number[]>();
  private readonly reservations = new Map<string, { socket: FakeRelaySocket; expiresAtMs: number; onEnd: (() => void) | undefined; by: string | undefined }>();
  private nextToken = 1n;
  families: readonly IpFamily[] = ["IPv4", "IPv6"];

  constructor(
    ports: readonly number[] = [50000, 50002, 50004, 50006, 50008],
    private readonly clock?: Clock,
  ) {
    this.free.set("IPv4", [...ports]);
    this.free.set("IPv6", [...ports]);
  }

  /** Reservations held now. */
  get reservationCount(): number {
    return this.reservations.size;
  }

  /** Reservations held now on `username`'s quota. */
  reservationsOf(username: string): number {
    let count = 0;
    for (const reservation of this.reservations.values()) if (reservation.by === username) count++;
    return count;
  }

  /** Binds a plain relay (no reservation) at once, as the real allocator does; false: a promise that settles later. */
  bindsAtOnce = true;

  allocate(request: RelayRequest): RelayAllocation | Promise<RelayAllocation> {
    if (this.bindsAtOnce && request.evenPort?.reserveNext !== true) return this.allocateNow(request);
    return Promise.resolve().then(() => this.allocateNow(request));
  }

  private allocateNow(request: RelayRequest): RelayAllocation {
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
      const token = Buffer.alloc(8);
      // The first token is the one the fuzzer's commands name.
      token.writeBigUInt64BE(0x0102030405060707n + this.nextToken++);
      const expiresAtMs = this.clock ? this.clock.now() + RESERVATION_LIFETIME_MS : Number.POSITIVE_INFINITY;
      this.reservations.set(token.toString("hex"), { socket: reserved, expiresAtMs, onEnd: request.evenPort.onReservationEnd, by: request.evenPort.owner });
      return { socket, reservationToken: token };
    }
    return { socket };
  }

  async claimReservation(token: Buffer, claimer: ReservationClaimer, onPacket: PeerPacketHandler): Promise<RelaySocket> {
    const reservation = this.reservations.get(token.toString("hex"));
    if (!reservation) throw new RelayUnavailableError("bad-token", "unknown token");
    if (!claimer.hasQuotaSlot && reservation.by !== claimer.username) throw new RelayUnavailableError("not-yours", "another user's reservation");
    this.reservations.delete(token.toString("hex"));
    reservation.onEnd?.();
    reservation.socket.handler = onPacket;
    this.sockets.push(reservation.socket);
    return reservation.socket;
  }

  dropReservation(token: Buffer): void {
    const reservation = this.reservations.get(token.toString("hex"));
    if (!reservation) return;
    this.reservations.delete(token.toString("hex"));
    reservation.socket.close();
    reservation.onEnd?.();
  }

  dropReservationsOf(owner: string): void {
    for (const [key, reservation] of this.reservations) if (reservation.by === owner) this.dropReservation(Buffer.from(key, "hex"));
  }

  advertisedAddress(socket: RelaySocket): string {
    return socket.address;
  }

  sweepReservations(nowMs: number): void {
    for (const [key, reservation] of this.reservations) {
      if (reservation.expiresAtMs > nowMs) continue;
      this.reservations.delete(key);
      reservation.socket.close();
      reservation.onEnd?.();
    }
  }
}
