import type { AttributeEntry } from "../stun/attributes/registry.js";
import { parseIp, type IpFamily } from "../stun/address.js";
import type { AllocationBandwidth } from "./bandwidth.js";
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
  /** The peer's address bytes, parsed at the first Data indication and kept: none per packet after. */
  peer?: Uint8Array;
}

export interface ChannelBinding {
  readonly number: number;
  readonly peerAddress: string;
  readonly peerPort: number;
  /** The relay socket of the peer's family, resolved once at bind time. */
  readonly relay: RelaySocket;
  expiresAtMs: number;
}

/** What a retransmitted Allocate is answered with, kept small: the rest comes from the allocation. */
export interface AllocateAnswer {
  readonly transactionIdHex: string;
  readonly lifetimeSeconds: number;
  readonly reservationToken?: Buffer;
  readonly addressError?: { readonly family: number; readonly code: number; readonly reason: string };
}

export interface Allocation {
  readonly fiveTuple: FiveTuple;
  readonly username: string;
  /** One relay socket per address family (two for an RFC 8656 dual-stack allocation). */
  readonly relays: readonly RelaySocket[];
  expiresAtMs: number;
  /** RFC 8656 §9: keyed by peer IP address only; the port does not matter. */
  readonly permissions: Map<string, Permission>;
  /**
   * The channel binding while there is one only: most allocations of a call have one or none, and the
   * two Maps below cost 0.35 KiB of heap. From the second binding on, this is undefined and the Maps
   * hold them all; back to one, they go.
   */
  channel: ChannelBinding | undefined;
  /** With two or more bindings: by channel number. */
  channelsByNumber: Map<number, ChannelBinding> | undefined;
  /**
   * With two or more bindings: peer address -> its binding, or port -> binding when one address has
   * several ports bound; lookups on the peer-to-client path use the values the socket hands over,
   * building no keys.
   */
  channelsByPeer: Map<string, ChannelBinding | Map<number, ChannelBinding>> | undefined;
  /** max-bps, when set: a bucket for each direction; a reload that changes max-bps replaces them. */
  bandwidth: AllocationBandwidth | undefined;
  /** The Allocate that created it, so a retransmission gets the same answer (RFC 8656 §7.2). */
  readonly allocateAnswer: AllocateAnswer;
  /** The peer of the last Send indication, as bytes and as text (SendPeerCache). */
  sendPeer?: { readonly bytes: Uint8Array; readonly address: string };
}

export function relayForFamily(allocation: Allocation, family: IpFamily): RelaySocket | undefined {
  for (const relay of allocation.relays) if (relay.family === family) return relay;
  return undefined;
}

/** RFC 8656 §9: installs or refreshes the permission for a peer IP; true when it is new. */
export function installPermission(allocation: Allocation, peerAddress: string, nowMs: number): boolean {
  const existing = allocation.permissions.get(peerAddress);
  if (existing) existing.expiresAtMs = nowMs + PERMISSION_LIFETIME_MS;
  else allocation.permissions.set(peerAddress, { expiresAtMs: nowMs + PERMISSION_LIFETIME_MS });
  return existing === undefined;
}

/**
 * The peer's permission, if it and the allocation are within their lifetimes at `nowMs`. RFC 8656 §9:
 * past its lifetime a permission relays nothing, though the sweeper may not have removed it yet.
 */
export function livePermission(allocation: Allocation, peerAddress: string, nowMs: number): Permission | undefined {
  const permission = allocation.permissions.get(peerAddress);
  return permission !== undefined && permission.expiresAtMs > nowMs && allocation.expiresAtMs > nowMs ? permission : undefined;
}

/** The peer's address bytes for a Data indication, parsed once per permission. */
export function permissionPeerBytes(permission: Permission, peerAddress: string): Uint8Array | undefined {
  return (permission.peer ??= parseIp(peerAddress)?.bytes);
}

export function findChannelByNumber(allocation: Allocation, number: number): ChannelBinding | undefined {
  const only = allocation.channel;
  if (only !== undefined) return only.number === number ? only : undefined;
  return allocation.channelsByNumber?.get(number);
}

export function findChannelByPeer(allocation: Allocation, peerAddress: string, peerPort: number): ChannelBinding | undefined {
  const only = allocation.channel;
  if (only !== undefined) return only.peerPort === peerPort && only.peerAddress === peerAddress ? only : undefined;
  const entry = allocation.channelsByPeer?.get(peerAddress);
  if (entry === undefined) return undefined;
  if (entry instanceof Map) return entry.get(peerPort);
  return entry.peerPort === peerPort ? entry : undefined;
}

export function channelCount(allocation: Allocation): number {
  return allocation.channel !== undefined ? 1 : (allocation.channelsByNumber?.size ?? 0);
}

/** The allocation's channel bindings, in a new array (free to unbind while walking it). */
export function channelList(allocation: Allocation): ChannelBinding[] {
  if (allocation.channel !== undefined) return [allocation.channel];
  return allocation.channelsByNumber ? [...allocation.channelsByNumber.values()] : [];
}

export type ChannelBindOutcome = "bound" | "refreshed" | "number-in-use" | "peer-bound-elsewhere" | "too-many-channels";

/**
 * RFC 8656 §12.2 rules: a number bound to another peer, or a peer bound to another number, is refused;
 * the same pair refreshes. Binding also installs or refreshes the peer's permission. A new binding
 * past `maxChannels` is refused, and installs nothing.
 */
export function bindChannel(
  allocation: Allocation,
  number: number,
  peerAddress: string,
  peerPort: number,
  relay: RelaySocket,
  nowMs: number,
  maxChannels: number,
): ChannelBindOutcome {
  const byNumber = findChannelByNumber(allocation, number);
  const byPeer = findChannelByPeer(allocation, peerAddress, peerPort);
  if (byNumber && (byNumber.peerAddress !== peerAddress || byNumber.peerPort !== peerPort)) return "number-in-use";
  if (byPeer && byPeer.number !== number) return "peer-bound-elsewhere";
  if (!byNumber && channelCount(allocation) >= maxChannels) return "too-many-channels";
  installPermission(allocation, peerAddress, nowMs);
  if (byNumber) {
    byNumber.expiresAtMs = nowMs + CHANNEL_LIFETIME_MS;
    return "refreshed";
  }
  const binding: ChannelBinding = { number, peerAddress, peerPort, relay, expiresAtMs: nowMs + CHANNEL_LIFETIME_MS };
  const only = allocation.channel;
  if (only === undefined && allocation.channelsByNumber === undefined) {
    allocation.channel = binding;
    return "bound";
  }
  if (only !== undefined) {
    allocation.channel = undefined;
    putInMaps(allocation, only);
  }
  putInMaps(allocation, binding);
  return "bound";
}

function putInMaps(allocation: Allocation, binding: ChannelBinding): void {
  (allocation.channelsByNumber ??= new Map()).set(binding.number, binding);
  const byAddress = (allocation.channelsByPeer ??= new Map());
  const existing = byAddress.get(binding.peerAddress);
  if (existing === undefined) byAddress.set(binding.peerAddress, binding);
  else if (existing instanceof Map) existing.set(binding.peerPort, binding);
  else byAddress.set(binding.peerAddress, new Map([[existing.peerPort, existing], [binding.peerPort, binding]]));
}

export function unbindChannel(allocation: Allocation, binding: ChannelBinding): void {
  if (allocation.channel === binding) {
    allocation.channel = undefined;
    return;
  }
  const byNumber = allocation.channelsByNumber;
  if (byNumber?.get(binding.number) !== binding) return;
  byNumber.delete(binding.number);
  const byAddress = allocation.channelsByPeer!;
  const entry = byAddress.get(binding.peerAddress);
  if (entry === binding) byAddress.delete(binding.peerAddress);
  else if (entry instanceof Map) {
    entry.delete(binding.peerPort);
    if (entry.size === 1) byAddress.set(binding.peerAddress, entry.values().next().value!);
    else if (entry.size === 0) byAddress.delete(binding.peerAddress);
  }
  // Back to one: it goes back to `channel`, and the Maps go.
  if (byNumber.size === 1) {
    allocation.channel = byNumber.values().next().value!;
    allocation.channelsByNumber = undefined;
    allocation.channelsByPeer = undefined;
  }
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
  for (const binding of channelList(allocation)) {
    if (binding.expiresAtMs > nowMs) continue;
    unbindChannel(allocation, binding);
    channels++;
  }
  return { permissions, channels };
}

/** The earliest expiry among the allocation's own, its permissions' and its channels'. */
export function nextExpiry(allocation: Allocation): number {
  let earliest = allocation.expiresAtMs;
  for (const permission of allocation.permissions.values()) earliest = Math.min(earliest, permission.expiresAtMs);
  const only = allocation.channel;
  if (only !== undefined) earliest = Math.min(earliest, only.expiresAtMs);
  else if (allocation.channelsByNumber) for (const binding of allocation.channelsByNumber.values()) earliest = Math.min(earliest, binding.expiresAtMs);
  return earliest;
}

/**
 * RFC 8656 §7.2 / §7.3: the lifetime granted for a requested one: the default when absent,
 * never more than the maximum, never less than the default (a client asking for less still gets it).
 */
export function grantLifetimeSeconds(requested: number | undefined, defaultSeconds: number, maxSeconds: number): number {
  if (requested === undefined) return Math.min(defaultSeconds, maxSeconds);
  return Math.min(Math.max(requested, defaultSeconds), maxSeconds);
}
