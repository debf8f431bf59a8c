import { Method } from "../../stun/constants.js";
import { allocationsOnLink, removeAllocation, sweepExpired } from "../allocation-table.js";
import type { DispatchTable, IndicationHandler, RequestHandler } from "../dispatch.js";
import { formatFiveTuple } from "../five-tuple.js";
import type { ClientLink } from "../ports.js";
import { relayChannelDataFromClient } from "../relay.js";
import { createAllocateHandler } from "./allocate.js";
import { createBindingHandler, type BindingOptions } from "./binding.js";
import { createChannelBindHandler } from "./channel-bind.js";
import { createCreatePermissionHandler } from "./create-permission.js";
import { createRefreshHandler } from "./refresh.js";
import { createSendIndicationHandler } from "./send-indication.js";
import type { TurnDeps } from "./turn-deps.js";

export interface TurnService {
  readonly dispatchTable: DispatchTable;
  /** RFC 8656 §3.1: when a TCP/TLS connection closes, its allocation goes at once. */
  onLinkClosed(link: ClientLink): void;
  /** The one sweeper tick: expired allocations, permissions, channels and relay reservations. */
  sweep(): void;
}

export function createTurnService(deps: TurnDeps, binding: BindingOptions): TurnService {
  const requests = new Map<number, RequestHandler>([
    [Method.Binding, createBindingHandler(binding)],
    [Method.Allocate, createAllocateHandler(deps)],
    [Method.Refresh, createRefreshHandler(deps)],
    [Method.CreatePermission, createCreatePermissionHandler(deps)],
    [Method.ChannelBind, createChannelBindHandler(deps)],
  ]);
  const indications = new Map<number, IndicationHandler>([[Method.Send, createSendIndicationHandler(deps)]]);
  const { table, counters } = deps;
  return {
    dispatchTable: {
      requests,
      indications,
      channelData: (bytes, address, port, link) => relayChannelDataFromClient(table, counters, bytes, address, port, link),
    },
    onLinkClosed(link) {
      for (const allocation of allocationsOnLink(table, link)) {
        removeAllocation(table, allocation);
        deps.log.info({ fiveTuple: formatFiveTuple(allocation.fiveTuple), username: allocation.username }, "allocation closed with its connection");
      }
    },
    sweep() {
      const nowMs = deps.clock.now();
      deps.relays.sweepReservations(nowMs);
      for (const allocation of sweepExpired(table, nowMs).expiredAllocations) {
        deps.log.info({ fiveTuple: formatFiveTuple(allocation.fiveTuple), username: allocation.username }, "allocation expired");
        allocation.fiveTuple.link.setCarriesAllocation(false);
      }
    },
  };
}

