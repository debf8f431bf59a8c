import { getAttribute } from "../../stun/attributes/registry.js";
import { relayForFamily } from "../allocation.js";
import { findAllocation } from "../allocation-table.js";
import { takeBandwidth } from "../bandwidth.js";
import type { RequestContext } from "../dispatch.js";
import type { TurnDeps } from "./turn-deps.js";

/** RFC 8656 §10.2: relays DATA to the peer when the 5-tuple has an allocation and the peer a permission; else drops. */
export function createSendIndicationHandler(deps: TurnDeps): (ctx: RequestContext) => void {
  return ({ message, link, clientAddress }) => {
    const { counters } = deps;
    const allocation = findAllocation(deps.table, link, clientAddress.address, clientAddress.port);
    const peer = allocation && getAttribute(message, "XOR-PEER-ADDRESS");
    const data = peer && getAttribute(message, "DATA");
    const relay = data && relayForFamily(allocation, peer.family);
    if (!relay || !allocation.permissions.has(peer.address) || !deps.peerPolicy.isPermittedPeerPortAllowed(peer.address, peer.port)) {
      counters.droppedPackets++;
      return;
    }
    if (allocation.bandwidth && !takeBandwidth(allocation.bandwidth, data.length, deps.clock.now())) {
      counters.droppedPackets++;
      counters.bandwidthDroppedPackets++;
      return;
    }
    relay.send(data, peer.port, peer.address);
    const traffic = counters.relay[link.transport];
    traffic.clientToPeerPackets++;
    traffic.clientToPeerBytes += data.length;
  };
}
