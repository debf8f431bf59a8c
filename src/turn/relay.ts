import { randomFillSync } from "node:crypto";
import { Method, MessageClass } from "../stun/constants.js";
import { encodeMessage } from "../stun/message.js";
import { findChannelByPeer, type Allocation } from "./allocation.js";
import { findAllocation, type AllocationTable } from "./allocation-table.js";
import { CHANNEL_DATA_HEADER_LENGTH, channelDataPayload, writeChannelDataHeader } from "./channel-data.js";
import type { TurnCounters } from "./counters.js";
import type { ClientLink, RelaySocket } from "./ports.js";

/**
 * RFC 8656 §12.4: ChannelData from a client goes to the bound peer, if the channel is bound on
 * this 5-tuple and the peer still has a permission; otherwise it is dropped silently.
 */
export function relayChannelDataFromClient(
  table: AllocationTable,
  counters: TurnCounters,
  bytes: Buffer,
  address: string,
  port: number,
  link: ClientLink,
): void {
  const allocation = findAllocation(table, link, address, port);
  const binding = allocation?.channelsByNumber.get(bytes.readUInt16BE(0));
  const payload = binding && allocation!.permissions.has(binding.peerAddress) ? channelDataPayload(bytes) : undefined;
  if (!payload) {
    counters.droppedPackets++;
    return;
  }
  binding!.relay.send(payload, binding!.peerPort, binding!.peerAddress);
  const traffic = counters.relay[link.transport];
  traffic.clientToPeerPackets++;
  traffic.clientToPeerBytes += payload.length;
}

// 20-byte header + XOR-PEER-ADDRESS (up to 24) + DATA header (4) must fit STUN's 16-bit length.
const MAX_INDICATION_DATA = 0xffff - 48;

// Data indications get a fresh random transaction id; encodeMessage copies it, so one buffer serves all.
const indicationTransactionId = Buffer.alloc(12);

/**
 * RFC 8656 §11.3 / §12.5: a datagram from a peer reaches the client only if the peer's IP has a
 * permission; as ChannelData when a channel is bound to the peer's address and port, else as a Data indication.
 */
export function relayFromPeer(
  allocation: Allocation,
  counters: TurnCounters,
  relay: RelaySocket,
  bytes: Buffer,
  peerAddress: string,
  peerPort: number,
): void {
  if (!allocation.permissions.has(peerAddress)) {
    counters.droppedPackets++;
    return;
  }
  const { link, clientAddress, clientPort } = allocation.fiveTuple;
  const binding = findChannelByPeer(allocation, peerAddress, peerPort);
  if (binding && bytes.length <= 0xffff) {
    const header = writeChannelDataHeader(Buffer.allocUnsafe(CHANNEL_DATA_HEADER_LENGTH), binding.number, bytes.length);
    link.sendParts(header, bytes, clientAddress, clientPort);
  } else if (bytes.length <= MAX_INDICATION_DATA) {
    randomFillSync(indicationTransactionId);
    const indication = encodeMessage({
      method: Method.Data,
      messageClass: MessageClass.Indication,
      transactionId: indicationTransactionId,
      attributes: [
        { name: "XOR-PEER-ADDRESS", value: { family: relay.family, address: peerAddress, port: peerPort } },
        { name: "DATA", value: bytes },
      ],
    });
    link.send(indication, clientAddress, clientPort);
  } else {
    counters.droppedPackets++;
    return;
  }
  const traffic = counters.relay[link.transport];
  traffic.peerToClientPackets++;
  traffic.peerToClientBytes += bytes.length;
}
