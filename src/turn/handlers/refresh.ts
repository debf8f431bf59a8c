import { getAttribute } from "../../stun/attributes/registry.js";
import { AddressFamily, ErrorCode } from "../../stun/constants.js";
import { grantLifetimeSeconds, relayForFamily } from "../allocation.js";
import { removeAllocation, setExpiry } from "../allocation-table.js";
import type { HandlerResult, RequestContext } from "../dispatch.js";
import { formatFiveTuple } from "../five-tuple.js";
import { isInfoOn } from "../ports.js";
import { StunError } from "../stun-error.js";
import { findOwnAllocation } from "./find-own-allocation.js";
import { authenticateRequest, type TurnDeps } from "./turn-deps.js";

/** RFC 8656 §7.3: extends the allocation's lifetime; LIFETIME 0 deletes it. */
export function createRefreshHandler(deps: TurnDeps): (ctx: RequestContext) => HandlerResult | StunError {
  return (ctx) => {
    const user = authenticateRequest(ctx, deps);
    if (user instanceof StunError) return user;
    const allocation = findOwnAllocation(ctx, deps, user);
    const family = getAttribute(ctx.message, "REQUESTED-ADDRESS-FAMILY");
    if (family !== undefined) {
      const name = family === AddressFamily.IPv4 ? "IPv4" : family === AddressFamily.IPv6 ? "IPv6" : undefined;
      if (!name || !relayForFamily(allocation, name)) throw new StunError(ErrorCode.PeerAddressFamilyMismatch);
    }
    const requested = getAttribute(ctx.message, "LIFETIME");
    if (requested === 0) {
      removeAllocation(deps.table, allocation);
      deps.counters.allocationsDeleted++;
      ctx.link.setCarriesAllocation(false);
      if (isInfoOn(deps.log)) deps.log.info({ fiveTuple: formatFiveTuple(allocation.fiveTuple), username: allocation.username }, "allocation deleted");
      return { attributes: [{ name: "LIFETIME", value: 0 }] };
    }
    const lifetimeSeconds = grantLifetimeSeconds(requested, deps.options.defaultLifetimeSeconds, deps.options.maxAllocateLifetimeSeconds);
    setExpiry(deps.table, allocation, deps.clock.now() + lifetimeSeconds * 1000);
    return { attributes: [{ name: "LIFETIME", value: lifetimeSeconds }] };
  };
}
