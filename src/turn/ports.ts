import type { IpFamily } from "../stun/address.js";

/** What the protocol core needs from a logger; pino satisfies it, tests pass a recorder. */
export interface Logger {
  trace(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  /** pino's; lets callers skip work for a level that is off. */
  isLevelEnabled?(level: string): boolean;
}

/** Whether an info line would be written: callers skip formatting one that would not. */
export function isInfoOn(log: Logger): boolean {
  return log.isLevelEnabled?.("info") ?? true;
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
  /**
   * Sends a STUN answer to the client, by the end of this event-loop turn; stream links ignore the
   * address and port (the connection names them).
   */
  send(data: Buffer, address: string, port: number): void;
  /**
   * Sends one message in parts without concatenating them: a ChannelData header and payload, or a
   * Data indication's head, data and padding. Stream links pad the whole to a multiple of 4 (§12.5).
   * False when it was dropped: the link cannot take more now (its queue is full) or has closed.
   */
  sendParts(head: Buffer, body: Buffer, tail: Buffer | undefined, address: string, port: number): boolean;
  /**
   * A buffer of exactly `length` bytes to write the head of the next sendParts into, valid until that
   * call returns: the same one may come back for the next (over UDP while datagrams leave at once;
   * over a stream always, as sendParts copies the head into its frame).
   */
  frameHead(length: number): Buffer;
  /**
   * A stream connection now carries an allocation (or no longer does): ChannelData becomes valid
   * framing (and stays so, for media still in flight when the allocation ends), and the allocation's
   * lifetime, not the idle timeout, decides when the connection ends.
   */
  setCarriesAllocation(carries: boolean): void;
  /** False once a stream connection has closed; a UDP link is always open. */
  isOpen(): boolean;
}

/** One relayed transport address: a UDP socket the server sends to and receives from peers on. */
export interface RelaySocket {
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
  /** False when the datagram was dropped: the socket's queue is full, or it has closed. */
  send(data: Buffer, port: number, address: string): boolean;
  close(): void;
}

export type PeerPacketHandler = (bytes: Buffer, address: string, port: number) => void;

export interface RelayRequest {
  readonly family: IpFamily;
  /** Local address the client reached us on; the relay binds there unless relay-ip says otherwise. */
  readonly listeningAddress: string;
  /**
   * RFC 8656 §7.2 EVEN-PORT: an even port, and with `reserveNext` the next port held for a later
   * Allocate, on `owner`'s quota. `onReservationEnd` is called once when that reservation goes, however
   * it goes: claimed, handed to another relay thread, expired, revoked or closed.
   */
  readonly evenPort?: { readonly reserveNext: boolean; readonly owner?: string; readonly onReservationEnd?: () => void };
  readonly onPacket: PeerPacketHandler;
}

/** Who claims a RESERVATION-TOKEN. */
export interface ReservationClaimer {
  readonly username: string;
  /**
   * The claiming Allocate has a quota slot of its own. Without one (its user at user-quota, or the
   * server at total-quota) it may take only its own user's reservation, whose hold then makes room.
   */
  readonly hasQuotaSlot: boolean;
}

/** A reserved port let go here for another relay thread to bind; "not-yours": refused (ReservationClaimer); undefined: not held here. */
export type ReservationRelease = { readonly address: string; readonly family: IpFamily; readonly port: number } | "not-yours" | undefined;

export interface RelayAllocation {
  readonly socket: RelaySocket;
  /** RFC 8656 §7.2: a token naming the reserved next port, when one was asked for and reserved. */
  readonly reservationToken?: Buffer;
}

/**
 * Thrown by a RelayAllocator when no port (or no relay address of the family) is available;
 * "bind-failed": the system refused the relay address itself (not a port in use).
 */
export class RelayUnavailableError extends Error {
  /** "not-yours": a claim without a quota slot for another user's reservation, which stays as it was. */
  readonly reason: "no-port" | "no-address" | "bad-token" | "not-yours" | "bind-failed";
  constructor(reason: RelayUnavailableError["reason"], message: string) {
    super(message);
    this.name = "RelayUnavailableError";
    this.reason = reason;
  }
}

/** RFC 8656 §7.2: the per-user quota answers 486, the server's capacity 508. */
export type QuotaAnswer = "ok" | "user-quota" | "total-quota";

/**
 * user-quota and total-quota, which must hold across every relay thread: a slot is reserved before
 * the relay socket is bound and released when the allocation goes (or the Allocate fails); an
 * EVEN-PORT reservation holds one more until it ends (RelayRequest.evenPort.onReservationEnd).
 */
export interface AllocationQuota {
  reserve(username: string): QuotaAnswer;
  /**
   * For a RESERVATION-TOKEN claim: what reserve would answer (`room`), with the hold taken even past
   * user-quota and total-quota (`held`; false only when no hold could be recorded). A user at its quota
   * may claim the port it reserved: the claim ends the reservation and gives its hold back, wherever
   * that is held. Taken first, the claim's hold keeps the user at its quota meanwhile, so that no other
   * Allocate of the user takes the room the claim makes.
   */
  reserveForClaim(username: string): { readonly room: QuotaAnswer; readonly held: boolean };
  release(username: string): void;
}

export interface RelayAllocator {
  /**
   * A value when the relay socket is bound at once (the common case: the Allocate is answered in the
   * same turn), else a Promise. May throw RelayUnavailableError synchronously as well as reject with it.
   */
  allocate(request: RelayRequest): RelayAllocation | Promise<RelayAllocation>;
  /**
   * RFC 8656 §7.2: takes the port reserved under `token` (RESERVATION-TOKEN), wherever it is held; that
   * reservation ends. Refused ("not-yours") when `claimer` has no quota slot and the reservation is another user's.
   */
  claimReservation(token: Buffer, claimer: ReservationClaimer, onPacket: PeerPacketHandler): Promise<RelaySocket>;
  /** Ends the reservation made here under `token` (its port closes, its end is reported); nothing if there is none. */
  dropReservation(token: Buffer): void;
  /** Ends every reservation made here for `owner` (a revoked credential). */
  dropReservationsOf(owner: string): void;
  /** The relayed address as reported to clients (external-ip mapping applied). */
  advertisedAddress(socket: RelaySocket): string;
  /** Drops reservations older than their lifetime. */
  sweepReservations(nowMs: number): void;
}
