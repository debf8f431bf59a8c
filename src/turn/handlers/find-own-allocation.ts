import type { Allocation } from "../allocation.js";
import { findAllocation, removeAllocation } from "../allocation-table.js";
import { assertSameUser, type Authenticated } from "../authenticate.js";
import type { RequestContext } from "../dispatch.js";
import { formatFiveTuple } from "../five-tuple.js";
import { isInfoOn } from "../ports.js";
import { ErrorCode } from "../../stun/constants.js";
import { StunError } from "../stun-error.js";
import type { TurnDeps } from "./turn-deps.js";

/**
 * The allocation on the request's 5-tuple. One past its lifetime is gone (RFC 8656 §7.3): the sweeper
 * removes it within a second, and a request meanwhile ends it first, so a Refresh cannot bring it back
 * and an Allocate makes a new one.
 */
export function findLiveAllocation(ctx: RequestContext, deps: TurnDeps): Allocation | undefined {
  const allocation = findAllocation(deps.table, ctx.link, ctx.clientAddress.address, ctx.clientAddress.port);
  if (allocation === undefined || allocation.expiresAtMs > deps.clock.now()) return allocation;
  removeAllocation(deps.table, allocation);
  allocation.fiveTuple.link.setCarriesAllocation(false);
  deps.counters.allocationsExpired++;
  if (isInfoOn(deps.log)) deps.log.info({ fiveTuple: formatFiveTuple(allocation.fiveTuple), username: allocation.username }, "allocation expired");
  return undefined;
}

/** RFC 8656 §7.3/§9/§11: no allocation on this 5-tuple is 437; another user's is 441. */
export function findOwnAllocation(ctx: RequestContext, deps: TurnDeps, user: Authenticated): Allocation {
  const allocation = findLiveAllocation(ctx, deps);
  if (!allocation) throw new StunError(ErrorCode.AllocationMismatch);
  assertSameUser(allocation.username, user);
  return allocation;
}
