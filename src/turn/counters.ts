import type { ClientTransport } from "./ports.js";

export interface TrafficCounters {
  clientToPeerPackets: number;
  clientToPeerBytes: number;
  peerToClientPackets: number;
  peerToClientBytes: number;
}

/**
 * Plain integers the core bumps and /metrics reads on scrape: nothing on the packet path formats,
 * labels or allocates for them. Relay traffic is kept per client transport.
 */
export interface TurnCounters {
  /** Datagrams and frames from clients handed to the dispatcher, whatever became of them: STUN messages, ChannelData, junk. */
  clientMessages: number;
  readonly relay: Readonly<Record<ClientTransport, TrafficCounters>>;
  droppedPackets: number;
  /** Packets dropped because their allocation was over max-bps (also counted in droppedPackets). */
  bandwidthDroppedPackets: number;
  allocationsCreated: number;
  allocationsExpired: number;
  allocationsDeleted: number;
  bindingRequests: number;
  /** Error responses to unauthenticated requests not sent: their source was over unauthorized-ratelimit. */
  unauthenticatedAnswersDropped: number;
  /** Error responses sent, by code. */
  readonly errorResponses: Record<number, number>;
}

const traffic = (): TrafficCounters => ({ clientToPeerPackets: 0, clientToPeerBytes: 0, peerToClientPackets: 0, peerToClientBytes: 0 });

export function createTurnCounters(): TurnCounters {
  return {
    clientMessages: 0,
    relay: { udp: traffic(), tcp: traffic(), tls: traffic() },
    droppedPackets: 0,
    bandwidthDroppedPackets: 0,
    allocationsCreated: 0,
    allocationsExpired: 0,
    allocationsDeleted: 0,
    bindingRequests: 0,
    unauthenticatedAnswersDropped: 0,
    errorResponses: {},
  };
}
