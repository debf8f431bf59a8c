import { getAttributes } from "../../stun/attributes/registry.js";
import { ErrorCode } from "../../stun/constants.js";
import { relayForFamily } from "../allocation.js";
import { installPermissionIn } from "../allocation-table.js";
import type { HandlerResult, RequestContext } from "../dispatch.js";
import { StunError } from "../stun-error.js";
import { findOwnAllocation } from "./find-own-allocation.js";
import { authenticateRequest, type TurnDeps } from "./turn-deps.js";

/** RFC 8656 §9.2: every XOR-PEER-ADDRESS is checked before any permission is installed (all or nothing). */
export function createCreatePermissionHandler(deps: TurnDeps): (ctx: RequestContext) => HandlerResult | StunError {
  return (ctx) => {
    const user = authenticateRequest(ctx, deps);
    if (user instanceof StunError) return user;
    const allocation = findOwnAllocation(ctx, deps, user);
    const peers = getAttributes(ctx.message, "XOR-PEER-ADDRESS");
    if (peers.length === 0) throw new StunError(ErrorCode.BadRequest, "XOR-PEER-ADDRESS missing");
    let added = 0;
    // A peer named twice in one request is one new permission.
    const adding = peers.length > 1 ? new Set<string>() : undefined;
    for (const peer of peers) {
      if (!relayForFamily(allocation, peer.family)) throw new StunError(ErrorCode.PeerAddressFamilyMismatch);
      // Permissions are per IP address (§9): the port in the attribute does not matter here.
      if (!deps.peerPolicy.isPeerAddressAllowed(peer.address)) throw new StunError(ErrorCode.Forbidden, "peer address not allowed");
      if (allocation.permissions.has(peer.address) || adding?.has(peer.address) === true) continue;
      adding?.add(peer.address);
      added++;
    }
    if (allocation.permissions.size + added > deps.options.maxPermissionsPerAllocation) {
      throw new StunError(ErrorCode.InsufficientCapacity, "too many permissions on this allocation");
    }
    const nowMs = deps.clock.now();
    for (const peer of peers) installPermissionIn(deps.table, allocation, peer.address, nowMs);
    return { attributes: [] };
  };
}
