import type { AttributeEntry } from "../../stun/attributes/registry.js";
import { getAttribute, hasAttribute } from "../../stun/attributes/registry.js";
import type { IpFamily } from "../../stun/address.js";
import { AddressFamily, AttributeType, ERROR_REASON, ErrorCode, TransportProtocol } from "../../stun/constants.js";
import { grantLifetimeSeconds, type AllocateAnswer, type Allocation } from "../allocation.js";
import { allocationBandwidthFor } from "../bandwidth.js";
import { addAllocation } from "../allocation-table.js";
import type { HandlerAnswer, HandlerResult, RequestContext } from "../dispatch.js";
import { formatFiveTuple, withoutZone } from "../five-tuple.js";
import { isInfoOn, RelayUnavailableError, type PeerPacketHandler, type QuotaAnswer, type RelayAllocation, type RelaySocket, type ReservationClaimer } from "../ports.js";
import { relayFromPeer } from "../relay.js";
import { createLogBudget } from "../log-budget.js";
import { StunError } from "../stun-error.js";
import type { Authenticated } from "../authenticate.js";
import { findLiveAllocation } from "./find-own-allocation.js";
import { assertCredentialStillValid, authenticateRequest, type TurnDeps } from "./turn-deps.js";

interface PeerDelivery {
  allocation: Allocation | undefined;
  readonly onPacket: PeerPacketHandler;
}

interface FamilyPlan {
  readonly families: readonly IpFamily[];
  /** RFC 8656 §7.2: with ADDITIONAL-ADDRESS-FAMILY, failing the IPv6 half is reported, not fatal. */
  readonly secondIsOptional: boolean;
}

/**
 * RFC 8656 §7.2: checks in the RFC's order, then one or two relayed addresses. The checks answer
 * synchronously (a 401 challenge is no rejected promise), and so does the common Allocate; only a
 * reservation, a token claim or two relayed addresses wait.
 */
export function createAllocateHandler(deps: TurnDeps): (ctx: RequestContext) => HandlerAnswer | Promise<HandlerAnswer> {
  // 5-tuples whose Allocate is binding its relay socket right now, with that request's transaction ID:
  // a retransmission must not allocate twice.
  const inProgress = new Map<string, string>();
  const failures = createLogBudget(deps.log, deps.clock, { perInterval: 20, intervalMs: 60_000 });

  return (ctx) => {
    const { message, link, clientAddress } = ctx;
    const user = authenticateRequest(ctx, deps);
    if (user instanceof StunError) return user;

    const existing = findLiveAllocation(ctx, deps);
    if (existing) {
      // A retransmission of the request that created it gets the same answer; anything else is 437.
      if (existing.allocateAnswer.transactionIdHex === message.transactionId.toString("hex")) {
        return { attributes: allocateSuccessAttributes(existing, deps) };
      }
      throw new StunError(ErrorCode.AllocationMismatch);
    }
    assertNotDraining();
    const key = `${link.transport} ${link.localAddress} ${link.localPort} ${clientAddress.address} ${clientAddress.port}`;
    const pending = inProgress.get(key);
    if (pending !== undefined) {
      // The retransmission is answered when the first is done; another request is 437, as once the
      // allocation exists (over TCP and TLS nothing is retransmitted, so dropping it would leave the
      // client waiting out its transaction timeout).
      if (pending === message.transactionId.toString("hex")) return null;
      throw new StunError(ErrorCode.AllocationMismatch);
    }

    const transport = getAttribute(message, "REQUESTED-TRANSPORT");
    if (transport === undefined) throw new StunError(ErrorCode.BadRequest, "REQUESTED-TRANSPORT missing");
    if (transport !== TransportProtocol.UDP) throw new StunError(ErrorCode.UnsupportedTransportProtocol);
    // RFC 8656 §7.2 step 4: Node cannot set the DF bit, so DONT-FRAGMENT is treated as unknown.
    if (hasAttribute(message, "DONT-FRAGMENT")) {
      throw new StunError(ErrorCode.UnknownAttribute, undefined, [{ name: "UNKNOWN-ATTRIBUTES", value: [AttributeType.DONT_FRAGMENT] }]);
    }
    const token = getAttribute(message, "RESERVATION-TOKEN");
    const evenPort = getAttribute(message, "EVEN-PORT");
    const requestedFamily = getAttribute(message, "REQUESTED-ADDRESS-FAMILY");
    const additionalFamily = getAttribute(message, "ADDITIONAL-ADDRESS-FAMILY");
    if (token && (evenPort !== undefined || requestedFamily !== undefined || additionalFamily !== undefined)) {
      throw new StunError(ErrorCode.BadRequest, "RESERVATION-TOKEN with EVEN-PORT or an address family");
    }
    const defaultFamily = deps.options.defaultAddressFamily === "keep" ? ctx.link.family : deps.options.defaultAddressFamily;
    const plan = planFamilies(requestedFamily, additionalFamily, evenPort === true, defaultFamily);
    // Decoded before anything is reserved or bound: a malformed LIFETIME is a 400 that holds nothing.
    const lifetimeSeconds = grantLifetimeSeconds(
      getAttribute(message, "LIFETIME"),
      deps.options.defaultLifetimeSeconds,
      deps.options.maxAllocateLifetimeSeconds,
    );
    if (token === undefined && evenPort === undefined && plan.families.length === 1) {
      return allocateRelay(ctx, user, key, plan.families[0]!, lifetimeSeconds);
    }
    return allocateRelays(ctx, user, key, token, evenPort, plan, lifetimeSeconds);
  };

  /** What a peer sends must never escape to the relay socket either. */
  function deliverFromPeer(allocation: Allocation, bytes: Buffer, address: string, port: number): void {
    try {
      relayFromPeer(allocation, deps.counters, deps.clock, bytes, address, port);
    } catch (error) {
      deps.counters.droppedPackets++;
      failures.error({ err: error, peer: `${address}:${port}` }, "peer packet handling failed");
    }
  }

  /**
   * Relay sockets are bound before their allocation exists: their packets are delivered once
   * `allocation` is set. Made here, apart, so that the handler holds only this (a closure made in
   * the request's scope would keep the request alive as long as the allocation).
   */
  function peerDelivery(): PeerDelivery {
    const delivery: PeerDelivery = {
      allocation: undefined,
      onPacket: (bytes, address, port) => {
        if (delivery.allocation) deliverFromPeer(delivery.allocation, bytes, address, port);
      },
    };
    return delivery;
  }

  /**
   * The common case, one relayed address and no reservation: its socket is bound at once, and the
   * answer goes in the turn that received the request (no promise, no await).
   */
  function allocateRelay(
    ctx: RequestContext,
    user: Authenticated,
    key: string,
    family: IpFamily,
    lifetimeSeconds: number,
  ): HandlerResult | null | Promise<HandlerResult | null> {
    const { username } = user;
    reserveQuota(deps, username);
    const delivery = peerDelivery();
    let bound: RelayAllocation | Promise<RelayAllocation>;
    try {
      bound = deps.relays.allocate({ family, listeningAddress: ctx.link.localAddress, onPacket: delivery.onPacket });
    } catch (error) {
      deps.quota.release(username);
      throw relayFailure(error);
    }
    if (!(bound instanceof Promise)) {
      const allocation = (delivery.allocation = createAllocation(ctx, username, [bound.socket], lifetimeSeconds, undefined, undefined));
      return allocation ? { attributes: allocateSuccessAttributes(allocation, deps) } : null;
    }
    inProgress.set(key, ctx.message.transactionId.toString("hex"));
    return bound.then(
      (relay) => {
        inProgress.delete(key);
        stillAllowed(ctx, user, [relay.socket], undefined);
        const allocation = (delivery.allocation = createAllocation(ctx, username, [relay.socket], lifetimeSeconds, undefined, undefined));
        return allocation ? { attributes: allocateSuccessAttributes(allocation, deps) } : null;
      },
      (error: unknown) => {
        inProgress.delete(key);
        deps.quota.release(username);
        throw relayFailure(error);
      },
    );
  }

  async function allocateRelays(
    ctx: RequestContext,
    user: Authenticated,
    key: string,
    token: Buffer | undefined,
    evenPort: boolean | undefined,
    plan: FamilyPlan,
    lifetimeSeconds: number,
  ): Promise<HandlerResult | null> {
    const { link } = ctx;
    const { username } = user;
    inProgress.set(key, ctx.message.transactionId.toString("hex"));
    let reserved = false;
    // RFC 8656 §7.2: a reserved next port counts toward its user's quota until it is claimed or
    // expires; the allocator takes this hold over with the reservation, and reports its end.
    let holdsForReservation = false;
    const relays: RelaySocket[] = [];
    let reservationToken: Buffer | undefined;
    let addressError: { family: number; code: number; reason: string } | undefined;
    const delivery = peerDelivery();
    const { onPacket } = delivery;
    try {
      if (token) {
        // A user at its quota may still take up the port it reserved: the claim ends the reservation and
        // its hold, which makes the room. That room is taken first, past the limits until the claim gives
        // the reservation's hold back (perhaps on another thread), so that no other Allocate of the user
        // takes it meanwhile. Another user's claim needs room of its own, or the reservation stays.
        const { room, held } = deps.quota.reserveForClaim(username);
        if (!held) throw quotaError(room === "ok" ? "total-quota" : room);
        reserved = true;
        try {
          relays.push(await claimReservation(deps, token, { username, hasQuotaSlot: room === "ok" }, onPacket, room));
        } catch (error) {
          // A revocation that came while the claim waited also ended the user's reservations: say so, not 508.
          assertStillAllowed(ctx, user);
          throw error;
        }
      } else {
        reserveQuota(deps, username);
        reserved = true;
        if (evenPort === true) {
          reserveQuota(deps, username);
          holdsForReservation = true;
        }
        for (let index = 0; index < plan.families.length; index++) {
          const family = plan.families[index]!;
          try {
            const result = await deps.relays.allocate({
              family,
              listeningAddress: link.localAddress,
              ...(evenPort !== undefined ? { evenPort: { reserveNext: evenPort, owner: username, onReservationEnd: () => deps.quota.release(username) } } : {}),
              onPacket,
            });
            relays.push(result.socket);
            if (result.reservationToken) {
              reservationToken = result.reservationToken;
              holdsForReservation = false;
            }
          } catch (error) {
            if (error instanceof RelayUnavailableError && index === 1 && plan.secondIsOptional) {
              const code = error.reason === "no-address" ? ErrorCode.AddressFamilyNotSupported : ErrorCode.InsufficientCapacity;
              addressError = { family: AddressFamily.IPv6, code, reason: ERROR_REASON[code] };
              continue;
            }
            throw relayFailure(error);
          }
        }
      }
    } catch (error) {
      for (const relay of relays) relay.close();
      if (reserved) deps.quota.release(username);
      if (holdsForReservation) deps.quota.release(username);
      throw error;
    } finally {
      inProgress.delete(key);
    }
    // An allocator that made no reservation takes no hold over.
    if (holdsForReservation) deps.quota.release(username);
    stillAllowed(ctx, user, relays, reservationToken);

    const allocation = (delivery.allocation = createAllocation(ctx, username, relays, lifetimeSeconds, reservationToken, addressError));
    if (!allocation) return null;
    return { attributes: allocateSuccessAttributes(allocation, deps) };
  }

  function assertNotDraining(): void {
    if (deps.options.draining) throw new StunError(ErrorCode.Forbidden, "draining", [], "Forbidden: server is draining, try another");
  }

  /** Throws 401 for a credential revoked, or 403 for a drain begun, since the request was authenticated. */
  function assertStillAllowed(ctx: RequestContext, user: Authenticated): void {
    assertCredentialStillValid(ctx, deps, user);
    assertNotDraining();
  }

  /**
   * After an await (a token claim waits on another relay thread): a revocation or a drain that came
   * meanwhile found no allocation to end, so the request is checked again before it makes one. If it
   * no longer passes, everything it took goes back: its relay sockets, its quota slot, and a
   * reservation it made (the client never learns its token).
   */
  function stillAllowed(ctx: RequestContext, user: Authenticated, relays: readonly RelaySocket[], reservationToken: Buffer | undefined): void {
    try {
      assertStillAllowed(ctx, user);
    } catch (error) {
      giveBack(user.username, relays, reservationToken);
      throw error;
    }
  }

  function giveBack(username: string, relays: readonly RelaySocket[], reservationToken: Buffer | undefined): void {
    for (const relay of relays) relay.close();
    if (reservationToken) deps.relays.dropReservation(reservationToken);
    deps.quota.release(username);
  }

  /** A relay allocator's failure as the client's answer: 440 for a family without a relay address, else 508. */
  function relayFailure(error: unknown): unknown {
    if (!(error instanceof RelayUnavailableError)) return error;
    // The operator's to fix (a relay-ip this machine lost), not the client's.
    if (error.reason === "bind-failed") failures.error({ reason: error.message }, "relay socket not bound");
    return error.reason === "no-address" ? new StunError(ErrorCode.AddressFamilyNotSupported) : new StunError(ErrorCode.InsufficientCapacity, error.message);
  }

  /** The allocation on its bound relay sockets, in the table; undefined (sockets closed, quota released) if the client has gone meanwhile. */
  function createAllocation(
    ctx: RequestContext,
    username: string,
    relays: RelaySocket[],
    lifetimeSeconds: number,
    reservationToken: Buffer | undefined,
    addressError: AllocateAnswer["addressError"],
  ): Allocation | undefined {
    const { message, link, clientAddress } = ctx;
    // The client may have gone (TCP closed) while the sockets were bound.
    if (!link.isOpen()) {
      giveBack(username, relays, reservationToken);
      return undefined;
    }
    const allocation: Allocation = {
      fiveTuple: { link, clientAddress: clientAddress.address, clientPort: clientAddress.port },
      username,
      relays,
      expiresAtMs: deps.clock.now() + lifetimeSeconds * 1000,
      permissions: new Map(),
      channel: undefined,
      channelsByNumber: undefined,
      channelsByPeer: undefined,
      bandwidth: allocationBandwidthFor(deps.options.maxBps, deps.clock.now()),
      allocateAnswer: {
        transactionIdHex: message.transactionId.toString("hex"),
        lifetimeSeconds,
        ...(reservationToken ? { reservationToken } : {}),
        ...(addressError ? { addressError } : {}),
      },
    };
    addAllocation(deps.table, allocation);
    deps.counters.allocationsCreated++;
    link.setCarriesAllocation(true);
    if (isInfoOn(deps.log)) {
      deps.log.info(
        {
          fiveTuple: formatFiveTuple(allocation.fiveTuple),
          username,
          relayedAddresses: relays.map((r) => `${r.address}:${r.port}`),
          lifetimeSeconds,
        },
        "allocation created",
      );
    }
    return allocation;
  }
}

/** RFC 8656 §7.2 success attributes, rebuilt from the allocation so a retransmission gets the same ones. */
function allocateSuccessAttributes(allocation: Allocation, deps: TurnDeps): AttributeEntry[] {
  const { allocateAnswer: answer, fiveTuple } = allocation;
  // Built with push, as every other answer's list is: an array from relays.map() took on another hidden
  // class once its caller was optimized, and encodeMessage, sizesOf and this function were deoptimized
  // and compiled again in a server's second 10,000 allocations (--trace-deopt: "wrong map").
  const attributes: AttributeEntry[] = [];
  for (const relay of allocation.relays) {
    attributes.push({ name: "XOR-RELAYED-ADDRESS", value: { family: relay.family, address: deps.relays.advertisedAddress(relay), port: relay.port } });
  }
  attributes.push({ name: "LIFETIME", value: answer.lifetimeSeconds });
  if (answer.reservationToken) attributes.push({ name: "RESERVATION-TOKEN", value: answer.reservationToken });
  if (answer.addressError) attributes.push({ name: "ADDRESS-ERROR-CODE", value: answer.addressError });
  attributes.push({ name: "XOR-MAPPED-ADDRESS", value: withoutZone({ family: fiveTuple.link.family, address: fiveTuple.clientAddress, port: fiveTuple.clientPort }) });
  return attributes;
}

const DUAL_STACK: FamilyPlan = { families: ["IPv4", "IPv6"], secondIsOptional: true };
const IPV4_ONLY: FamilyPlan = { families: ["IPv4"], secondIsOptional: false };
const IPV6_ONLY: FamilyPlan = { families: ["IPv6"], secondIsOptional: false };

/** `defaultFamily`: what an Allocate that names no family gets (allocation-default-address-family). */
function planFamilies(requested: number | undefined, additional: number | undefined, reservesNextPort: boolean, defaultFamily: IpFamily): FamilyPlan {
  if (requested !== undefined && additional !== undefined) {
    throw new StunError(ErrorCode.BadRequest, "REQUESTED-ADDRESS-FAMILY with ADDITIONAL-ADDRESS-FAMILY");
  }
  if (additional !== undefined) {
    // RFC 8656 §7.2: ADDITIONAL-ADDRESS-FAMILY may only ask for IPv6, and not with an EVEN-PORT reservation.
    if (additional !== AddressFamily.IPv6 || reservesNextPort) throw new StunError(ErrorCode.BadRequest, "bad ADDITIONAL-ADDRESS-FAMILY");
    return DUAL_STACK;
  }
  if (requested === undefined) return defaultFamily === "IPv6" ? IPV6_ONLY : IPV4_ONLY;
  if (requested === AddressFamily.IPv4) return IPV4_ONLY;
  if (requested === AddressFamily.IPv6) return IPV6_ONLY;
  throw new StunError(ErrorCode.AddressFamilyNotSupported);
}

/** RFC 8656 §7.2: the per-user quota answers 486, the server's capacity 508. */
function reserveQuota(deps: TurnDeps, username: string): void {
  const answer = deps.quota.reserve(username);
  if (answer !== "ok") throw quotaError(answer);
}

function quotaError(answer: Exclude<QuotaAnswer, "ok">): StunError {
  return answer === "user-quota" ? new StunError(ErrorCode.AllocationQuotaReached) : new StunError(ErrorCode.InsufficientCapacity);
}

/** `room`: the claimer's own quota answer, which is the client's answer when the reservation is not its to take. */
async function claimReservation(
  deps: TurnDeps,
  token: Buffer,
  claimer: ReservationClaimer,
  onPacket: (bytes: Buffer, address: string, port: number) => void,
  room: QuotaAnswer,
): Promise<RelaySocket> {
  try {
    return await deps.relays.claimReservation(token, claimer, onPacket);
  } catch (error) {
    if (!(error instanceof RelayUnavailableError)) throw error;
    if (error.reason === "not-yours" && room !== "ok") throw quotaError(room);
    throw new StunError(ErrorCode.InsufficientCapacity, "unknown RESERVATION-TOKEN");
  }
}
