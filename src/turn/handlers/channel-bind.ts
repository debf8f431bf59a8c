import { getAttribute } from "../../stun/attributes/registry.js";
import { ErrorCode } from "../../stun/constants.js";
import { relayForFamily } from "../allocation.js";
import { bindChannelIn } from "../allocation-table.js";
import { isChannelNumber } from "../channel-data.js";
import type { HandlerResult, RequestContext } from "../dispatch.js";
import { StunError } from "../stun-error.js";
import { findOwnAllocation } from "./find-own-allocation.js";
import { createHostServiceNotice } from "./host-service-notice.js";
import { authenticateRequest, type TurnDeps } from "./turn-deps.js";

/** RFC 8656 §12.2: binds (or refreshes) a channel number to a peer transport address. */
export function createChannelBindHandler(deps: TurnDeps): (ctx: RequestContext) => HandlerResult | StunError {
  const hostServices = createHostServiceNotice(deps);
  return (ctx) => {
    const user = authenticateRequest(ctx, deps);
    if (user instanceof StunError) return user;
    const allocation = findOwnAllocation(ctx, deps, user);
    const number = getAttribute(ctx.message, "CHANNEL-NUMBER");
    if (number === undefined || !isChannelNumber(number, deps.options.maxChannelNumber)) throw new StunError(ErrorCode.BadRequest, `bad CHANNEL-NUMBER ${number}`);
    const peer = getAttribute(ctx.message, "XOR-PEER-ADDRESS");
    if (!peer) throw new StunError(ErrorCode.BadRequest, "XOR-PEER-ADDRESS missing");
    const relay = relayForFamily(allocation, peer.family);
    if (!relay) throw new StunError(ErrorCode.PeerAddressFamilyMismatch);
    if (!deps.peerPolicy.isPeerAllowed(peer.address, peer.port)) {
      hostServices.noteIfHostService(peer.address, peer.port);
      throw new StunError(ErrorCode.Forbidden, "peer address not allowed");
    }
    const isNewPermission = !allocation.permissions.has(peer.address);
    if (isNewPermission && allocation.permissions.size >= deps.options.maxPermissionsPerAllocation) {
      throw new StunError(ErrorCode.InsufficientCapacity, "too many permissions on this allocation");
    }
    const outcome = bindChannelIn(deps.table, allocation, number, peer, relay, deps.clock.now(), deps.options.maxChannelsPerAllocation);
    if (outcome === "number-in-use") throw new StunError(ErrorCode.BadRequest, "channel bound to another peer");
    if (outcome === "peer-bound-elsewhere") throw new StunError(ErrorCode.BadRequest, "peer bound to another channel");
    if (outcome === "too-many-channels") throw new StunError(ErrorCode.InsufficientCapacity, "too many channels on this allocation");
    return { attributes: [] };
  };
}
