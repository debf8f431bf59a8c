import { Method } from "../../stun/constants.js";
import { channelList, unbindChannel, type Allocation } from "../allocation.js";
import { allocationBandwidthFor } from "../bandwidth.js";
import { allAllocations, allocationsOnLink, findAllocation, removeAllocation, sweepExpired, uncount, type AllocationTable } from "../allocation-table.js";
import type { DispatchTable, PacketHandler, RequestContext, RequestHandler } from "../dispatch.js";
import { formatFiveTuple } from "../five-tuple.js";
import { isInfoOn, type ClientLink } from "../ports.js";
import { relayChannelDataFromClient } from "../relay.js";
import { StunError } from "../stun-error.js";
import { createAllocateHandler } from "./allocate.js";
import { createBindingHandler, type BindingOptions } from "./binding.js";
import { createChannelBindHandler } from "./channel-bind.js";
import { createCreatePermissionHandler } from "./create-permission.js";
import { createRefreshHandler } from "./refresh.js";
import { createSendIndicationHandler } from "./send-indication.js";
import { authenticateWith, type TurnDeps } from "./turn-deps.js";

export interface TurnService {
  readonly dispatchTable: DispatchTable;
  /** RFC 8656 §3.1: when a TCP/TLS connection closes, its allocation goes at once. */
  onLinkClosed(link: ClientLink): void;
  /** The one sweeper tick: expired allocations, permissions, channels and relay reservations. */
  sweep(): void;
  /** Ends every allocation held by `username` now, and its EVEN-PORT reservations; returns how many allocations. */
  endAllocationsOf(username: string): number;
  /** After max-bps changed: every live allocation takes the new limit (none at 0), its buckets full. */
  reapplyMaxBps(): void;
  /** After the peer policy changed: drops permissions and channels to peers it no longer allows. */
  reapplyPeerPolicy(): { permissions: number; channels: number };
  /** Permissions and channel bindings in force (metrics), as the table keeps them. */
  countPermissionsAndChannels(): { permissions: number; channels: number };
  /**
   * While relay threads regroup (one died, or is coming back), the kernel hands UDP clients to threads
   * that may not hold their allocations. Then a TURN request from a UDP client this thread holds no
   * allocation for goes unanswered, instead of 437 (or a second allocation on the wrong thread): the
   * client's retransmission reaches the right thread once the group is back in order. Turning it off
   * returns how many requests went unanswered meanwhile.
   */
  setRegrouping(on: boolean): number;
}

/**
 * With several relay threads. A thread's death moves UDP clients to other threads at once, and the
 * others hear of it (setRegrouping) a few milliseconds later: meanwhile a Refresh, CreatePermission
 * or ChannelBind that authenticates, from a UDP client with no allocation here, waits `ms` before it
 * is handled (437, as a rule), and goes unanswered if regrouping has begun by then. Allocate does
 * not wait (a new client's is normal), nor does a request that does not authenticate (its 401).
 */
export interface UnknownClientHold {
  readonly ms: number;
  /** Resolves after `ms`: a timer, or a test's own. */
  wait(ms: number): Promise<void>;
}

/** Requests held at once; past this, a request is handled at once (a flood must not pile up timers). */
const MAX_HELD_REQUESTS = 256;


export function createTurnService(deps: TurnDeps, binding: BindingOptions, hold?: UnknownClientHold): TurnService {
  const { table, counters, log } = deps;
  let regrouping = false;
  let unansweredWhileRegrouping = 0;
  let held = 0;
  /** Only a user's request is held (the handler authenticates it again): nobody else can fill the places. */
  const authenticates = (ctx: RequestContext): boolean => {
    try {
      // Its allocation, on another thread, may have outlived the credential.
      return !(authenticateWith(ctx, deps, !deps.options.strictExpiry) instanceof StunError);
    } catch {
      return false;
    }
  };
  const isUnknownUdpClient = (ctx: RequestContext): boolean =>
    ctx.link.transport === "udp" && !findAllocation(table, ctx.link, ctx.clientAddress.address, ctx.clientAddress.port);
  const knownClientsWhileRegrouping =
    (handler: RequestHandler): RequestHandler =>
    (ctx) => {
      if (regrouping && isUnknownUdpClient(ctx)) {
        unansweredWhileRegrouping++;
        return null;
      }
      return handler(ctx);
    };
  const heldForRegrouping = (handler: RequestHandler): RequestHandler => {
    const known = knownClientsWhileRegrouping(handler);
    if (hold === undefined) return known;
    return (ctx) => {
      if (regrouping || held >= MAX_HELD_REQUESTS || !isUnknownUdpClient(ctx) || !authenticates(ctx)) return known(ctx);
      held++;
      return hold
        .wait(hold.ms)
        .finally(() => held--)
        .then(() => known(ctx));
    };
  };
  const requests = new Map<number, RequestHandler>([
    [Method.Binding, createBindingHandler(binding, deps.counters)],
    [Method.Allocate, knownClientsWhileRegrouping(createAllocateHandler(deps))],
    [Method.Refresh, heldForRegrouping(createRefreshHandler(deps))],
    [Method.CreatePermission, heldForRegrouping(createCreatePermissionHandler(deps))],
    [Method.ChannelBind, heldForRegrouping(createChannelBindHandler(deps))],
  ]);
  const indications = new Map<number, PacketHandler>([[Method.Send, createSendIndicationHandler(deps)]]);

  function end(allocation: Allocation, why: string): void {
    removeAllocation(table, allocation);
    allocation.fiveTuple.link.setCarriesAllocation(false);
    if (isInfoOn(log)) log.info({ fiveTuple: formatFiveTuple(allocation.fiveTuple), username: allocation.username }, why);
  }

  return {
    dispatchTable: {
      requests,
      indications,
      channelData: (bytes, address, port, link) => relayChannelDataFromClient(table, counters, deps.clock, bytes, address, port, link),
    },
    onLinkClosed(link) {
      for (const allocation of allocationsOnLink(table, link)) {
        counters.allocationsDeleted++;
        // A UDP link closes only when its listener does, at shutdown; a stream link is the client's own connection.
        end(allocation, link.transport === "udp" ? "allocation closed with its UDP listener" : "allocation closed with its connection");
      }
    },
    sweep() {
      const nowMs = deps.clock.now();
      deps.relays.sweepReservations(nowMs);
      for (const allocation of sweepExpired(table, nowMs).expiredAllocations) {
        counters.allocationsExpired++;
        allocation.fiveTuple.link.setCarriesAllocation(false);
        if (isInfoOn(log)) log.info({ fiveTuple: formatFiveTuple(allocation.fiveTuple), username: allocation.username }, "allocation expired");
      }
    },
    endAllocationsOf(username) {
      deps.relays.dropReservationsOf(username);
      const ending = allAllocations(table).filter((allocation) => allocation.username === username);
      for (const allocation of ending) {
        counters.allocationsDeleted++;
        end(allocation, "allocation ended: credential revoked");
      }
      return ending.length;
    },
    reapplyMaxBps() {
      const { maxBps } = deps.options;
      const nowMs = deps.clock.now();
      for (const allocation of allAllocations(table)) {
        if (allocation.bandwidth?.toPeer.bytesPerSecond === maxBps) continue;
        allocation.bandwidth = allocationBandwidthFor(maxBps, nowMs);
      }
    },
    reapplyPeerPolicy() {
      let permissions = 0;
      let channels = 0;
      for (const allocation of allAllocations(table)) {
        for (const channel of channelList(allocation)) {
          if (deps.peerPolicy.isPeerAllowed(channel.peerAddress, channel.peerPort)) continue;
          unbindChannel(allocation, channel);
          channels++;
        }
        for (const peer of allocation.permissions.keys()) {
          if (deps.peerPolicy.isPeerAddressAllowed(peer)) continue;
          allocation.permissions.delete(peer);
          permissions++;
        }
      }
      uncount(table, { permissions, channels });
      return { permissions, channels };
    },
    setRegrouping(on) {
      const unanswered = unansweredWhileRegrouping;
      if (!on) unansweredWhileRegrouping = 0;
      regrouping = on;
      return unanswered;
    },
    countPermissionsAndChannels() {
      return { permissions: table.permissionsInForce, channels: table.channelsInForce };
    },
  };
}
