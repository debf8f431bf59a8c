import { findChannelByNumber, findChannelByPeer, livePermission, permissionPeerBytes, type Allocation, type Permission } from "./allocation.js";
import { findAllocation, type AllocationTable } from "./allocation-table.js";
import { CHANNEL_DATA_HEADER_LENGTH, channelDataPayload, writeChannelDataHeader } from "./channel-data.js";
import { returnBandwidth, takeBandwidth } from "./bandwidth.js";
import type { TurnCounters } from "./counters.js";
import { dataIndicationHeadLength, MAX_DATA_INDICATION_HEAD, writeDataIndicationHead } from "./data-indication.js";
import type { ClientLink, Clock } from "./ports.js";

/**
 * RFC 8656 §12.4: ChannelData from a client goes to the bound peer, if the channel is bound on
 * this 5-tuple and the peer still has a permission; otherwise it is dropped silently. Expired is
 * gone, whether or not the sweeper has come by.
 */
export function relayChannelDataFromClient(
  table: AllocationTable,
  counters: TurnCounters,
  clock: Clock,
  bytes: Buffer,
  address: string,
  port: number,
  link: ClientLink,
): void {
  // RFC 8656 §12.4: four bytes of header at least, or it is not ChannelData.
  const allocation = bytes.length >= CHANNEL_DATA_HEADER_LENGTH ? findAllocation(table, link, address, port) : undefined;
  const binding = allocation && findChannelByNumber(allocation, bytes.readUInt16BE(0));
  const nowMs = binding ? clock.now() : 0;
  const live = binding !== undefined && binding.expiresAtMs > nowMs && livePermission(allocation!, binding.peerAddress, nowMs) !== undefined;
  const payload = live ? channelDataPayload(bytes) : undefined;
  if (!payload) {
    counters.droppedPackets++;
    return;
  }
  if (allocation!.bandwidth && !takeBandwidth(allocation!.bandwidth.toPeer, payload.length, nowMs)) {
    counters.droppedPackets++;
    counters.bandwidthDroppedPackets++;
    return;
  }
  if (!binding!.relay.send(payload, binding!.peerPort, binding!.peerAddress)) {
    if (allocation!.bandwidth) returnBandwidth(allocation!.bandwidth.toPeer, payload.length);
    counters.droppedPackets++;
    return;
  }
  const traffic = counters.relay[link.transport];
  traffic.clientToPeerPackets++;
  traffic.clientToPeerBytes += payload.length;
}

// The largest DATA a Data indication can carry within STUN's 16-bit length.
const MAX_INDICATION_DATA = 0xffff - MAX_DATA_INDICATION_HEAD;
// Zero padding after DATA, by length; shared, never written.
const PADDING = [undefined, Buffer.alloc(1), Buffer.alloc(2), Buffer.alloc(3)] as const;

/**
 * RFC 8656 §11.3 / §12.5: a datagram from a peer reaches the client only if the peer's IP has a
 * permission; as ChannelData when a channel is bound to the peer's address and port, else as a Data
 * indication. Headers are written into the link's frame heads and the payload is sent as received.
 */
export function relayFromPeer(
  allocation: Allocation,
  counters: TurnCounters,
  clock: Clock,
  bytes: Buffer,
  peerAddress: string,
  peerPort: number,
): void {
  const nowMs = clock.now();
  const permission = livePermission(allocation, peerAddress, nowMs);
  if (!permission) {
    counters.droppedPackets++;
    return;
  }
  if (allocation.bandwidth && !takeBandwidth(allocation.bandwidth.toClient, bytes.length, nowMs)) {
    counters.droppedPackets++;
    counters.bandwidthDroppedPackets++;
    return;
  }
  if (!sendToClient(allocation, permission, bytes, peerAddress, peerPort, nowMs)) {
    if (allocation.bandwidth) returnBandwidth(allocation.bandwidth.toClient, bytes.length);
    counters.droppedPackets++;
    return;
  }
  const traffic = counters.relay[allocation.fiveTuple.link.transport];
  traffic.peerToClientPackets++;
  traffic.peerToClientBytes += bytes.length;
}

/** As ChannelData on a channel bound and unexpired, else as a Data indication; false when it could not be sent. */
function sendToClient(allocation: Allocation, permission: Permission, bytes: Buffer, peerAddress: string, peerPort: number, nowMs: number): boolean {
  const { link, clientAddress, clientPort } = allocation.fiveTuple;
  const binding = findChannelByPeer(allocation, peerAddress, peerPort);
  if (binding && binding.expiresAtMs > nowMs && bytes.length <= 0xffff) {
    const header = writeChannelDataHeader(link.frameHead(CHANNEL_DATA_HEADER_LENGTH), binding.number, bytes.length);
    return link.sendParts(header, bytes, undefined, clientAddress, clientPort);
  }
  if (bytes.length > MAX_INDICATION_DATA) return false;
  const peer = permissionPeerBytes(permission, peerAddress);
  if (!peer) return false;
  const head = link.frameHead(dataIndicationHeadLength(peer.length));
  writeDataIndicationHead(head, peer, peerPort, bytes.length);
  return link.sendParts(head, bytes, PADDING[(4 - (bytes.length & 3)) & 3], clientAddress, clientPort);
}
