import type { Allocation } from "../allocation.js";
import { findAllocation } from "../allocation-table.js";
import { assertSameUser, type Authenticated } from "../authenticate.js";
import type { RequestContext } from "../dispatch.js";
import { ErrorCode } from "../../stun/constants.js";
import { StunError } from "../stun-error.js";
import type { TurnDeps } from "./turn-deps.js";

/** RFC 8656 §7.3/§9/§11: no allocation on this 5-tuple is 437; another user's is 441. */
export function findOwnAllocation(ctx: RequestContext, deps: TurnDeps, user: Authenticated): Allocation {
  const allocation = findAllocation(deps.table, ctx.link, ctx.clientAddress.address, ctx.clientAddress.port);
  if (!allocation) throw new StunError(ErrorCode.AllocationMismatch);
  assertSameUser(allocation.username, user);
  return allocation;
}
