import type { AttributeEntry } from "../../stun/attributes/registry.js";
import { attributeError } from "../attribute-checks.js";
import type { HandlerResult, RequestContext } from "../dispatch.js";
import { withoutZone } from "../five-tuple.js";
import type { StunError } from "../stun-error.js";

export interface BindingOptions {
  /** Also send MAPPED-ADDRESS, for clients that read only that. Off by default: it doubles the response. */
  readonly mappedAddress: boolean;
}

/** RFC 8489 §7.3.1: the response carries the source transport address of the request, XOR'ed. */
export function createBindingHandler(options: BindingOptions, counters?: { bindingRequests: number }): (ctx: RequestContext) => HandlerResult | StunError {
  return ({ message, clientAddress }) => {
    if (counters) counters.bindingRequests++;
    const unaccepted = attributeError(message);
    if (unaccepted) return unaccepted;
    const mapped = withoutZone(clientAddress);
    const attributes: AttributeEntry[] = [{ name: "XOR-MAPPED-ADDRESS", value: mapped }];
    if (options.mappedAddress) attributes.push({ name: "MAPPED-ADDRESS", value: mapped });
    return { attributes };
  };
}
