import { livePermission, relayForFamily } from "../allocation.js";
import { findAllocation } from "../allocation-table.js";
import { returnBandwidth, takeBandwidth } from "../bandwidth.js";
import type { PacketHandler } from "../dispatch.js";
import { createSendIndicationView, scanSendIndication, sendIndicationPeerAddress, sendIndicationPeerPort } from "../send-indication-scan.js";
import { createHostServiceNotice } from "./host-service-notice.js";
import type { TurnDeps } from "./turn-deps.js";

/**
 * RFC 8656 §11.2: relays DATA to the peer when the 5-tuple has an allocation and the peer a permission,
 * both unexpired; else drops. On the data path: it reads the indication in place and builds no message objects.
 */
export function createSendIndicationHandler(deps: TurnDeps): PacketHandler {
  const view = createSendIndicationView();
  const { counters } = deps;
  const hostServices = createHostServiceNotice(deps);
  return (bytes, address, port, link) => {
    if (!scanSendIndication(bytes, view)) return;
    const allocation = findAllocation(deps.table, link, address, port);
    const peerAddress = allocation && view.dataOffset >= 0 ? sendIndicationPeerAddress(bytes, view, allocation) : undefined;
    // A well-formed XOR-PEER-ADDRESS is 8 bytes for IPv4, 20 for IPv6.
    const peerFamily = view.peerLength === 20 ? "IPv6" : "IPv4";
    // §11.2: Node cannot set DF (Allocate answers DONT-FRAGMENT with 420), so a Send asking for it
    // from IPv4 to IPv4 is dropped; every other pair of families MUST ignore the attribute (§13, §14).
    const relay = peerAddress && !(view.dontFragment && peerFamily === "IPv4" && link.family === "IPv4") && relayForFamily(allocation!, peerFamily);
    const peerPort = relay ? sendIndicationPeerPort(bytes, view) : 0;
    const nowMs = relay ? deps.clock.now() : 0;
    if (!relay || !livePermission(allocation!, peerAddress, nowMs)) {
      counters.droppedPackets++;
      return;
    }
    if (!deps.peerPolicy.isPermittedPeerPortAllowed(peerAddress, peerPort)) {
      counters.droppedPackets++;
      hostServices.noteIfHostService(peerAddress, peerPort);
      return;
    }
    const dataLength = view.dataLength;
    if (allocation!.bandwidth && !takeBandwidth(allocation!.bandwidth.toPeer, dataLength, nowMs)) {
      counters.droppedPackets++;
      counters.bandwidthDroppedPackets++;
      return;
    }
    if (!relay.send(bytes.subarray(view.dataOffset, view.dataOffset + dataLength), peerPort, peerAddress)) {
      if (allocation!.bandwidth) returnBandwidth(allocation!.bandwidth.toPeer, dataLength);
      counters.droppedPackets++;
      return;
    }
    const traffic = counters.relay[link.transport];
    traffic.clientToPeerPackets++;
    traffic.clientToPeerBytes += dataLength;
  };
}
