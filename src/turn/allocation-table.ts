import {
  bindChannel,
  channelCount,
  installPermission,
  nextExpiry,
  PERMISSION_LIFETIME_MS,
  sweepAllocation,
  type Allocation,
  type ChannelBindOutcome,
} from "./allocation.js";
import type { ClientLink, RelaySocket } from "./ports.js";
import { keepShape } from "./shape-keeper.js";
import { SweepSchedule } from "./sweep-schedule.js";

/**
 * Every allocation, by 5-tuple: link (server side + transport), then client address, then client port.
 * An address with one allocation holds it directly, one with several a Map by port: most clients have
 * an address of their own, and a Map each cost 0.2 KiB of heap. The per-packet lookup is two Map gets
 * and a compare, on values the socket already gave us.
 */
export interface AllocationTable {
  readonly byLink: Map<ClientLink, Map<string, Allocation | Map<number, Allocation>>>;
  size: number;
  /** Permissions and channel bindings held by the allocations in the table, kept as they change (metrics). */
  permissionsInForce: number;
  channelsInForce: number;
  /** When each allocation next has something to expire: the sweeper visits those due, not the whole table. */
  readonly sweeps: SweepSchedule<Allocation>;
  /** Called once for every allocation removed, whatever removed it (quota release). */
  readonly onRemove: ((allocation: Allocation) => void) | undefined;
}

export function createAllocationTable(onRemove?: (allocation: Allocation) => void): AllocationTable {
  return { byLink: new Map(), size: 0, permissionsInForce: 0, channelsInForce: 0, sweeps: new SweepSchedule(), onRemove };
}

export function findAllocation(table: AllocationTable, link: ClientLink, clientAddress: string, clientPort: number): Allocation | undefined {
  const entry = table.byLink.get(link)?.get(clientAddress);
  if (entry === undefined) return undefined;
  if (entry instanceof Map) return entry.get(clientPort);
  return entry.fiveTuple.clientPort === clientPort ? entry : undefined;
}

/** Every allocation in the table, in a new array. */
export function allAllocations(table: AllocationTable): Allocation[] {
  const all: Allocation[] = [];
  for (const byAddress of table.byLink.values()) collect(byAddress, all);
  return all;
}

function collect(byAddress: Map<string, Allocation | Map<number, Allocation>>, into: Allocation[]): void {
  for (const entry of byAddress.values()) {
    if (entry instanceof Map) into.push(...entry.values());
    else into.push(entry);
  }
}

export function addAllocation(table: AllocationTable, allocation: Allocation): void {
  const { link, clientAddress, clientPort } = allocation.fiveTuple;
  let byAddress = table.byLink.get(link);
  if (!byAddress) table.byLink.set(link, (byAddress = new Map()));
  const existing = byAddress.get(clientAddress);
  if (existing instanceof Map) existing.set(clientPort, allocation);
  // The Allocate handler adds none on a 5-tuple that has one; were it to, the new one takes its place.
  else if (existing === undefined || existing.fiveTuple.clientPort === clientPort) byAddress.set(clientAddress, allocation);
  else byAddress.set(clientAddress, new Map([[existing.fiveTuple.clientPort, existing], [clientPort, allocation]]));
  table.size++;
  table.permissionsInForce += allocation.permissions.size;
  table.channelsInForce += channelCount(allocation);
  table.sweeps.atLatest(allocation, nextExpiry(allocation));
}

/** The shape keeper's kind for an allocation: it holds a client's 5-tuple and its server's links, so a server that closes lets it go. */
export const REMOVED_ALLOCATION = "removed allocation";

/** Removes the allocation, closes its relay sockets and returns its quota. */
export function removeAllocation(table: AllocationTable, allocation: Allocation): void {
  const { link, clientAddress, clientPort } = allocation.fiveTuple;
  const byAddress = table.byLink.get(link);
  const entry = byAddress?.get(clientAddress);
  if (entry === allocation) byAddress!.delete(clientAddress);
  else if (entry instanceof Map && entry.get(clientPort) === allocation) {
    entry.delete(clientPort);
    // Back to one: it is held directly again.
    if (entry.size === 1) byAddress!.set(clientAddress, entry.values().next().value!);
  } else return;
  if (byAddress!.size === 0) table.byLink.delete(link);
  table.size--;
  table.permissionsInForce -= allocation.permissions.size;
  table.channelsInForce -= channelCount(allocation);
  table.sweeps.forget(allocation);
  for (const relay of allocation.relays) relay.close();
  // With whatever it held then: its relay sockets, and any permissions and channels (see shape-keeper.ts).
  keepShape(REMOVED_ALLOCATION, allocation);
  table.onRemove?.(allocation);
}

/** RFC 8656 §7.3: the allocation now expires at `expiresAtMs`, sooner or later than before. */
export function setExpiry(table: AllocationTable, allocation: Allocation, expiresAtMs: number): void {
  allocation.expiresAtMs = expiresAtMs;
  table.sweeps.atLatest(allocation, expiresAtMs);
}

/** installPermission, counted and scheduled. */
export function installPermissionIn(table: AllocationTable, allocation: Allocation, peerAddress: string, nowMs: number): void {
  if (installPermission(allocation, peerAddress, nowMs)) table.permissionsInForce++;
  table.sweeps.atLatest(allocation, nowMs + PERMISSION_LIFETIME_MS);
}

/** bindChannel, counted and scheduled: a binding also installs its peer's permission, which expires first. */
export function bindChannelIn(
  table: AllocationTable,
  allocation: Allocation,
  number: number,
  peer: { readonly address: string; readonly port: number },
  relay: RelaySocket,
  nowMs: number,
  maxChannels: number,
): ChannelBindOutcome {
  const permissions = allocation.permissions.size;
  const outcome = bindChannel(allocation, number, peer.address, peer.port, relay, nowMs, maxChannels);
  if (outcome !== "bound" && outcome !== "refreshed") return outcome;
  if (outcome === "bound") table.channelsInForce++;
  table.permissionsInForce += allocation.permissions.size - permissions;
  table.sweeps.atLatest(allocation, nowMs + PERMISSION_LIFETIME_MS);
  return outcome;
}

/** Permissions and channels removed from allocations that stay in the table (by the sweeper, or a peer policy change). */
export function uncount(table: AllocationTable, removed: { readonly permissions: number; readonly channels: number }): void {
  table.permissionsInForce -= removed.permissions;
  table.channelsInForce -= removed.channels;
}

/** Every allocation on a link (a TCP/TLS connection has at most one; a UDP socket many). */
export function allocationsOnLink(table: AllocationTable, link: ClientLink): Allocation[] {
  const found: Allocation[] = [];
  const byAddress = table.byLink.get(link);
  if (byAddress) collect(byAddress, found);
  return found;
}

export interface SweepResult {
  readonly expiredAllocations: readonly Allocation[];
  readonly expiredPermissions: number;
  readonly expiredChannels: number;
  /** Allocations the sweep looked at: those with something due, not the whole table. */
  readonly visited: number;
}

/**
 * The one sweeper: expires allocations, then permissions and channels of those that remain. It visits
 * only the allocations the schedule says are due; each that remains is scheduled again for its next expiry.
 */
export function sweepExpired(table: AllocationTable, nowMs: number): SweepResult {
  const expiredAllocations: Allocation[] = [];
  let expiredPermissions = 0;
  let expiredChannels = 0;
  const due = table.sweeps.takeDue(nowMs);
  for (const allocation of due) {
    if (allocation.expiresAtMs <= nowMs) {
      expiredAllocations.push(allocation);
      continue;
    }
    const swept = sweepAllocation(allocation, nowMs);
    expiredPermissions += swept.permissions;
    expiredChannels += swept.channels;
    table.sweeps.atLatest(allocation, nextExpiry(allocation));
  }
  uncount(table, { permissions: expiredPermissions, channels: expiredChannels });
  for (const allocation of expiredAllocations) removeAllocation(table, allocation);
  return { expiredAllocations, expiredPermissions, expiredChannels, visited: due.length };
}
