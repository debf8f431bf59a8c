import { randomBytes, randomInt } from "node:crypto";
import dgram from "node:dgram";
import { canonicalIp, parseIp, type IpFamily } from "../stun/address.js";
import {
  RelayUnavailableError,
  type Clock,
  type Logger,
  type PeerPacketHandler,
  type RelayAllocation,
  type RelayAllocator,
  type RelayRequest,
  type RelaySocket,
  type ReservationClaimer,
  type ReservationRelease,
} from "../turn/ports.js";
import { lookupIpLiteral } from "./ip-literal-lookup.js";
import type { RelayPortMap } from "./relay-port-map.js";
import { RELAY_QUEUE_BUDGET_BYTES, RELAY_SOCKET_QUEUE, SendQueueBudget } from "./send-queue.js";

// RFC 8656 §7.2 leaves it to the server; 30 s is what the RFC suggests for holding a reserved port.
const RESERVATION_LIFETIME_MS = 30_000;
// Random picks before falling back to a scan from a random start (a nearly full range).
const RANDOM_PICKS = 16;
const MAX_BIND_ATTEMPTS = 64;

export interface RelayAllocatorOptions {
  /** `relay-ip`; empty: relay on the address the client reached us on. */
  readonly relayIps: readonly string[];
  /** Every listening address, for a relay of the other family when relay-ip is not set. */
  readonly listeningAddresses: readonly { readonly address: string; readonly family: IpFamily }[];
  /** `external-ip`: what XOR-RELAYED-ADDRESS reports behind NAT. */
  readonly externalIps: readonly { readonly public: string; readonly private?: string }[];
  readonly minPort: number;
  readonly maxPort: number;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * With several relay threads, a RESERVATION-TOKEN may name a port another thread holds: this asks
   * the other threads to let it go and says which port it was, for this thread to bind.
   */
  readonly releaseElsewhere?: (token: string, claimer: ReservationClaimer) => Promise<ReservationRelease>;
  /** With several relay threads: the ports the others have bound, and where this one records its own. */
  readonly sharedPorts?: RelayPortMap;
  /** Bytes this allocator's relay sockets may hold waiting together; RELAY_QUEUE_BUDGET_BYTES by default. */
  readonly queueBudgetBytes?: number;
}

const ignorePacket: PeerPacketHandler = () => {};

// What the bind in progress came to. dgram says by events, at once for an IP literal (the lookup is
// ours); two listeners that every relay socket shares and keeps write it here, where two closures
// per socket were made and removed again.
let bindEvent: "bound" | NodeJS.ErrnoException | undefined;
function onListening(): void {
  bindEvent = "bound";
}
/** Also the socket's error listener for life: a peer's ICMP unreachable or a full send buffer must not take anything down. */
function onSocketError(error: NodeJS.ErrnoException): void {
  bindEvent = error;
}

class UdpRelaySocket implements RelaySocket {
  handler: PeerPacketHandler;
  private closed = false;

  constructor(
    private readonly socket: dgram.Socket,
    readonly family: IpFamily,
    readonly address: string,
    readonly port: number,
    handler: PeerPacketHandler,
    private readonly queue: SendQueueBudget,
    /** Told when the socket closes, to free its port: the allocator, not a closure per socket. */
    private readonly ports: { portClosed(address: string, port: number): void },
  ) {
    this.handler = handler;
    socket.on("message", (bytes, rinfo) => this.handler(bytes, rinfo.address, rinfo.port));
  }

  send(data: Buffer, port: number, address: string): boolean {
    if (this.closed || this.queue.full(this.socket, data.length)) return false;
    this.socket.send(data, port, address);
    this.queue.sent(this.socket, data.length);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A closed socket delivers nothing: letting go of the allocation's handler lets go of what it reaches.
    this.handler = ignorePacket;
    this.socket.close();
    this.ports.portClosed(this.address, this.port);
  }
}

interface Reservation {
  readonly socket: UdpRelaySocket;
  readonly expiresAtMs: number;
  /** Whose quota holds it. */
  readonly owner: string | undefined;
  readonly onEnd: (() => void) | undefined;
}

/** Opens relay sockets on random ports of min-port..max-port; exhaustion is a RelayUnavailableError (508). */
export class UdpRelayAllocator implements RelayAllocator {
  private readonly portsInUse = new Map<string, Set<number>>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly queue: SendQueueBudget;
  private readonly options: RelayAllocatorOptions;

  constructor(options: RelayAllocatorOptions) {
    // Addresses are compared as text here, so each in one spelling: "0:0:0:0:0:0:0:1" is "::1".
    this.options = {
      ...options,
      relayIps: options.relayIps.map(canonicalIp),
      listeningAddresses: options.listeningAddresses.map((entry) => ({ ...entry, address: canonicalIp(entry.address) })),
      externalIps: options.externalIps.map((entry) => (entry.private === undefined ? entry : { ...entry, private: canonicalIp(entry.private) })),
    };
    this.queue = new SendQueueBudget(RELAY_SOCKET_QUEUE, options.queueBudgetBytes ?? RELAY_QUEUE_BUDGET_BYTES);
  }

  /**
   * Synchronous when the relay socket is bound at once, which with an IP literal dgram does (no lookup
   * to wait for): an Allocate then answers in the turn that received it. A reservation of the next
   * port (EVEN-PORT with R) is always asynchronous. Failures before any bind waits (no relay address,
   * no free port, a refused bind) are thrown synchronously, not as a rejected promise.
   */
  allocate(request: RelayRequest): RelayAllocation | Promise<RelayAllocation> {
    const address = this.relayAddressFor(request.family, request.listeningAddress);
    if (!address) throw new RelayUnavailableError("no-address", `no ${request.family} relay address`);
    if (request.evenPort?.reserveNext === true) return this.allocateWithReservation(request, address);
    return this.bindAny(request, address, new Set(), 0);
  }

  /** Binds a random free port (even ones for EVEN-PORT), attempt by attempt; asynchronous only if a bind is. */
  private bindAny(request: RelayRequest, address: string, tried: Set<number>, attempt: number): RelayAllocation | Promise<RelayAllocation> {
    const used = this.usedPorts(address);
    const even = request.evenPort !== undefined;
    for (; attempt < MAX_BIND_ATTEMPTS; attempt++) {
      const port = this.pickPort(address, used, tried, even, false);
      if (port === undefined) break;
      tried.add(port);
      const socket = this.tryBind(request.family, address, port);
      if (socket instanceof Promise) {
        const next = attempt + 1;
        return socket.then((bound) => (bound ? this.relayOn(bound, request, address, port) : this.bindAny(request, address, tried, next)));
      }
      if (socket) return this.relayOn(socket, request, address, port);
    }
    throw this.noPort(address);
  }

  private relayOn(socket: dgram.Socket, request: RelayRequest, address: string, port: number): RelayAllocation {
    return { socket: this.wrap(socket, request.family, address, port, request.onPacket) };
  }

  /** RFC 8656 §7.2: an even port, and the one after it reserved under a token. */
  private async allocateWithReservation(request: RelayRequest, address: string): Promise<RelayAllocation> {
    const used = this.usedPorts(address);
    const tried = new Set<number>();
    for (let attempt = 0; attempt < MAX_BIND_ATTEMPTS; attempt++) {
      const port = this.pickPort(address, used, tried, true, true);
      if (port === undefined) break;
      tried.add(port);
      const socket = await this.tryBind(request.family, address, port);
      if (!socket) continue;
      let next: dgram.Socket | undefined;
      try {
        next = await this.tryBind(request.family, address, port + 1);
      } catch (error) {
        socket.close();
        throw error;
      }
      if (!next) {
        socket.close();
        tried.add(port + 1);
        continue;
      }
      const relay = this.wrap(socket, request.family, address, port, request.onPacket);
      const reserved = this.wrap(next, request.family, address, port + 1, () => {});
      const token = randomBytes(8);
      this.reservations.set(token.toString("hex"), {
        socket: reserved,
        expiresAtMs: this.options.clock.now() + RESERVATION_LIFETIME_MS,
        owner: request.evenPort?.owner,
        onEnd: request.evenPort?.onReservationEnd,
      });
      return { socket: relay, reservationToken: token };
    }
    throw this.noPort(address);
  }

  private noPort(address: string): RelayUnavailableError {
    return new RelayUnavailableError("no-port", `no free relay port on ${address} in ${this.options.minPort}-${this.options.maxPort}`);
  }

  async claimReservation(token: Buffer, claimer: ReservationClaimer, onPacket: PeerPacketHandler): Promise<RelaySocket> {
    const key = token.toString("hex");
    const reservation = this.liveReservation(key);
    if (reservation) {
      if (!mayClaim(reservation, claimer)) throw notYours();
      this.endReservation(key, reservation);
      reservation.socket.handler = onPacket;
      return reservation.socket;
    }
    const released = await this.options.releaseElsewhere?.(key, claimer);
    if (released === "not-yours") throw notYours();
    const socket = released && (await this.tryBind(released.family, released.address, released.port));
    if (!released || !socket) throw new RelayUnavailableError("bad-token", "unknown or expired RESERVATION-TOKEN");
    return this.wrap(socket, released.family, released.address, released.port, onPacket);
  }

  dropReservation(token: Buffer): void {
    this.releaseReservation(token.toString("hex"));
  }

  dropReservationsOf(owner: string): void {
    for (const [key, reservation] of this.reservations) {
      if (reservation.owner !== owner) continue;
      reservation.socket.close();
      this.endReservation(key, reservation);
    }
  }

  /** Lets go of the port reserved under `token` here, for another relay thread to bind (if `claimer` may take it). */
  releaseReservation(token: string, claimer?: ReservationClaimer): ReservationRelease {
    const reservation = this.liveReservation(token);
    if (!reservation) return undefined;
    if (claimer !== undefined && !mayClaim(reservation, claimer)) return "not-yours";
    const { address, family, port } = reservation.socket;
    reservation.socket.close();
    this.endReservation(token, reservation);
    return { address, family, port };
  }

  advertisedAddress(socket: RelaySocket): string {
    const { externalIps } = this.options;
    const mapped = externalIps.find((entry) => entry.private === socket.address);
    if (mapped) return mapped.public;
    const general = externalIps.find((entry) => entry.private === undefined && familyOf(entry.public) === socket.family);
    return general?.public ?? socket.address;
  }

  sweepReservations(nowMs: number): void {
    for (const [key, reservation] of this.reservations) {
      if (reservation.expiresAtMs > nowMs) continue;
      reservation.socket.close();
      this.endReservation(key, reservation);
    }
  }

  /** Relay ports still free in min-port..max-port, on the relay address that has the fewest. */
  freePorts(): number {
    const span = this.options.maxPort - this.options.minPort + 1;
    let mostUsed = 0;
    for (const used of this.portsInUse.values()) mostUsed = Math.max(mostUsed, used.size);
    return span - mostUsed;
  }

  /** Releases reserved ports (allocations close their own sockets). */
  close(): void {
    for (const [key, reservation] of this.reservations) {
      reservation.socket.close();
      this.endReservation(key, reservation);
    }
  }

  /** The reservation under `key`, unless its 30 s are over: then it ends now, not at the next sweep. */
  private liveReservation(key: string): Reservation | undefined {
    const reservation = this.reservations.get(key);
    if (reservation === undefined || reservation.expiresAtMs > this.options.clock.now()) return reservation;
    reservation.socket.close();
    this.endReservation(key, reservation);
    return undefined;
  }

  /** The one way out of `reservations`: whoever asked for the reservation hears of its end once. */
  private endReservation(key: string, reservation: Reservation): void {
    this.reservations.delete(key);
    reservation.onEnd?.();
  }

  private relayAddressFor(family: IpFamily, listeningAddress: string): string | undefined {
    const { relayIps, listeningAddresses } = this.options;
    if (relayIps.length > 0) return relayIps.find((ip) => familyOf(ip) === family);
    // As resolveListeningAddresses wrote it: in one spelling, as the addresses here.
    if (familyOf(listeningAddress) === family && !isWildcard(listeningAddress)) return listeningAddress;
    // The other family: an address that reaches as far as the one the client reached. Interfaces list
    // loopback first, and a relay there serves only clients on this host; none far enough is a 440.
    const scope = scopeOf(listeningAddress);
    const candidates = listeningAddresses.filter((entry) => entry.family === family && !isWildcard(entry.address));
    return (candidates.find((entry) => scopeOf(entry.address) === scope) ?? candidates.find((entry) => scopeOf(entry.address) === "global"))?.address;
  }

  private usedPorts(address: string): Set<number> {
    let used = this.portsInUse.get(address);
    if (!used) this.portsInUse.set(address, (used = new Set()));
    return used;
  }

  private pickPort(address: string, used: Set<number>, tried: Set<number>, even: boolean, reserveNext: boolean): number | undefined {
    const { minPort, maxPort, sharedPorts } = this.options;
    const free = (port: number): boolean => !used.has(port) && sharedPorts?.isTaken(address, port) !== true;
    const fits = (port: number): boolean =>
      free(port) && !tried.has(port) && (!even || port % 2 === 0) && (!reserveNext || (port + 1 <= maxPort && free(port + 1)));
    for (let pick = 0; pick < RANDOM_PICKS; pick++) {
      const port = randomInt(minPort, maxPort + 1);
      if (fits(port)) return port;
    }
    const span = maxPort - minPort + 1;
    const start = randomInt(0, span);
    for (let i = 0; i < span; i++) {
      const port = minPort + ((start + i) % span);
      if (fits(port)) return port;
    }
    return undefined;
  }

  /**
   * A bound socket, or undefined when the port is taken. dgram binds an IP literal at once, error
   * included (its lookup is ours, synchronous), so this returns a value; a Promise only if a Node.js
   * version ever defers the bind.
   */
  private tryBind(family: IpFamily, address: string, port: number): dgram.Socket | undefined | Promise<dgram.Socket | undefined> {
    const socket = dgram.createSocket({ type: family === "IPv6" ? "udp6" : "udp4", ipv6Only: family === "IPv6", lookup: lookupIpLiteral });
    socket.on("error", onSocketError);
    socket.on("listening", onListening);
    bindEvent = undefined;
    socket.bind({ address, port, exclusive: true });
    const outcome = bindEvent;
    bindEvent = undefined;
    if (outcome !== undefined) return this.bindOutcome(socket, outcome, address);
    return new Promise((resolve, reject) => {
      const settle = (event: "bound" | NodeJS.ErrnoException): void => {
        socket.removeListener("error", onError);
        socket.removeListener("listening", onBound);
        try {
          resolve(this.bindOutcome(socket, event, address));
        } catch (error) {
          reject(error);
        }
      };
      const onError = (error: NodeJS.ErrnoException): void => settle(error);
      const onBound = (): void => settle("bound");
      socket.on("error", onError);
      socket.on("listening", onBound);
    });
  }

  private bindOutcome(socket: dgram.Socket, outcome: "bound" | NodeJS.ErrnoException, address: string): dgram.Socket | undefined {
    if (outcome === "bound") return socket;
    socket.close();
    if (outcome.code === "EADDRINUSE" || outcome.code === "EACCES") return undefined;
    throw new RelayUnavailableError("bind-failed", `cannot bind a relay socket on ${address}: ${outcome.message}`);
  }

  private wrap(socket: dgram.Socket, family: IpFamily, address: string, port: number, onPacket: PeerPacketHandler): UdpRelaySocket {
    const used = this.usedPorts(address);
    const { sharedPorts } = this.options;
    used.add(port);
    sharedPorts?.mark(address, port, true);
    return new UdpRelaySocket(socket, family, address, port, onPacket, this.queue, this);
  }

  /** A relay socket on `address`:`port` has closed. */
  portClosed(address: string, port: number): void {
    this.portsInUse.get(address)?.delete(port);
    this.options.sharedPorts?.mark(address, port, false);
  }
}

/**
 * Binds and releases a UDP socket on `address` (any port): a relay-ip that is not an address of this
 * machine fails here, at start, rather than on every Allocate.
 */
export async function checkRelayAddress(address: string): Promise<void> {
  const socket = dgram.createSocket({ type: familyOf(address) === "IPv6" ? "udp6" : "udp4", ipv6Only: familyOf(address) === "IPv6", lookup: lookupIpLiteral });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ address, port: 0, exclusive: true }, resolve);
    });
  } finally {
    socket.close();
  }
}

function familyOf(address: string): IpFamily {
  return address.includes(":") ? "IPv6" : "IPv4";
}

function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

/** How far an address of this host reaches: this host only, its link, or beyond (private ranges included). */
function scopeOf(address: string): "loopback" | "link-local" | "global" {
  const parsed = parseIp(address);
  if (parsed === undefined) return "global";
  const [a = 0, b = 0] = parsed.bytes;
  if (parsed.family === "IPv4") return a === 127 ? "loopback" : a === 169 && b === 254 ? "link-local" : "global";
  if (parsed.bytes.every((byte, i) => byte === (i === 15 ? 1 : 0))) return "loopback";
  return a === 0xfe && (b & 0xc0) === 0x80 ? "link-local" : "global";
}

/** A claimer without a quota slot of its own takes only its own user's reservation: that hold makes room for it. */
function mayClaim(reservation: Reservation, claimer: ReservationClaimer): boolean {
  return claimer.hasQuotaSlot || reservation.owner === claimer.username;
}

function notYours(): RelayUnavailableError {
  return new RelayUnavailableError("not-yours", "RESERVATION-TOKEN of another user, and no quota for this one");
}
