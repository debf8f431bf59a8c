import type { AttributeEntry } from "../stun/attributes/registry.js";
import { parseIp, type IpFamily } from "../stun/address.js";
import type { BandwidthBucket } from "./bandwidth.js";
import type { FiveTuple } from "./five-tuple.js";
import type { RelaySocket } from "./ports.js";

// RFC 8656 §9: permissions last 300 s; §12: channel bindings 600 s.
export const PERMISSION_LIFETIME_MS = 300_000;
export const CHANNEL_LIFETIME_MS = 600_000;
// RFC 8656 §12: the channel numbers a client may bind; RFC 5766 allowed up to 0x7FFF, and some
// clients (coturn's turnutils_uclient among them) still pick from that range.
export const MIN_CHANNEL_NUMBER = 0x4000;
export const MAX_CHANNEL_NUMBER = 0x4fff;
export const RFC5766_MAX_CHANNEL_NUMBER = 0x7fff;

export interface Permission {
  expiresAtMs: number;
  /** The peer's address bytes, parsed once here so Data indications need no parsing per packet. */
  readonly peer: Uint8Array;
}

export interface ChannelBinding {
  readonly number: number;
  readonly peerAddress: string;
  readonly peerPort: number;
  /** The relay socket of the peer's family, resolved once at bind time. */
  readonly relay: RelaySocket;
  expiresAtMs: number;
}

export interface Allocation {
  readonly fiveTuple: FiveTuple;
  readonly username: string;
  /** One relay socket per address family (two for an RFC 8656 dual-stack allocation). */
  readonly relays: readonly RelaySocket[];
  expiresAtMs: number;
  /** RFC 8656 §9: keyed by peer IP address only; the port does not matter. */
  readonly permissions: Map<string, Permission>;
  readonly channelsByNumber: Map<number, ChannelBinding>;
  /** peer address -> peer port -> binding; nested so the peer-to-client path builds no keys. */
  readonly channelsByPeer: Map<string, Map<number, ChannelBinding>>;
  /** max-bps, when set: relayed bytes both ways come out of it. */
  readonly bandwidth: BandwidthBucket | undefined;
  /** The Allocate that created it, so a retransmission gets the same answer (RFC 8656 §7.2). */
  readonly allocateTransactionId: Buffer;
  readonly allocateResponse: readonly AttributeEntry[];
}

export function relayForFamily(allocation: Allocation, family: IpFamily): RelaySocket | undefined {
  for (const relay of allocation.relays) if (relay.family === family) return relay;
  return undefined;
}

/** RFC 8656 §9: installs or refreshes the permission for a peer IP. */
export function installPermission(allocation: Allocation, peerAddress: string, nowMs: number): void {
  const existing = allocation.permissions.get(peerAddress);
  if (existing) {
    existing.expiresAtMs = nowMs + PERMISSION_LIFETIME_MS;
    return;
  }
  const parsed = parseIp(peerAddress);
  if (!parsed) throw new Error(`not an IP address: ${peerAddress}`);
  allocation.permissions.set(peerAddress, { expiresAtMs: nowMs + PERMISSION_LIFETIME_MS, peer: parsed.bytes });
}

export function hasPermission(allocation: Allocation, peerAddress: string): boolean {
  return allocation.permissions.has(peerAddress);
}

export function findChannelByPeer(allocation: Allocation, peerAddress: string, peerPort: number): ChannelBinding | undefined {
  return allocation.channelsByPeer.get(peerAddress)?.get(peerPort);
}

export type ChannelBindOutcome = "bound" | "refreshed" | "number-in-use" | "peer-bound-elsewhere";

/**
 * RFC 8656 §11.2 rules: a number bound to another peer, or a peer bound to another number, is refused;
 * the same pair refreshes. Binding also installs or refreshes the peer's permission.
 */
export function bindChannel(
  allocation: Allocation,
  number: number,
  peerAddress: string,
  peerPort: number,
  relay: RelaySocket,
  nowMs: number,
): ChannelBindOutcome {
  const byNumber = allocation.channelsByNumber.get(number);
  const byPeer = findChannelByPeer(allocation, peerAddress, peerPort);
  if (byNumber && (byNumber.peerAddress !== peerAddress || byNumber.peerPort !== peerPort)) return "number-in-use";
  if (byPeer && byPeer.number !== number) return "peer-bound-elsewhere";
  installPermission(allocation, peerAddress, nowMs);
  if (byNumber) {
    byNumber.expiresAtMs = nowMs + CHANNEL_LIFETIME_MS;
    return "refreshed";
  }
  const binding: ChannelBinding = { number, peerAddress, peerPort, relay, expiresAtMs: nowMs + CHANNEL_LIFETIME_MS };
  allocation.channelsByNumber.set(number, binding);
  let ports = allocation.channelsByPeer.get(peerAddress);
  if (!ports) allocation.channelsByPeer.set(peerAddress, (ports = new Map()));
  ports.set(peerPort, binding);
  return "bound";
}

/** Removes expired permissions and channel bindings; returns how many went. */
export function sweepAllocation(allocation: Allocation, nowMs: number): { permissions: number; channels: number } {
  let permissions = 0;
  let channels = 0;
  for (const [peer, permission] of allocation.permissions) {
    if (permission.expiresAtMs <= nowMs) {
      allocation.permissions.delete(peer);
      permissions++;
    }
  }
  for (const [number, binding] of allocation.channelsByNumber) {
    if (binding.expiresAtMs > nowMs) continue;
    allocation.channelsByNumber.delete(number);
    const ports = allocation.channelsByPeer.get(binding.peerAddress);
    ports?.delete(binding.peerPort);
    if (ports?.size === 0) allocation.channelsByPeer.delete(binding.peerAddress);
    channels++;
  }
  return { permissions, channels };
}

/**
 * RFC 8656 §7.2 / §7.3: the lifetime granted for a requested one: the default when absent,
 * never more than the maximum, never less than the default (a client asking for less still gets it).
 */
export function grantLifetimeSeconds(requested: number | undefined, defaultSeconds: number, maxSeconds: number): number {
  if (requested === undefined) return Math.min(defaultSeconds, maxSeconds);
  return Math.min(Math.max(requested, defaultSeconds), maxSeconds);
}
