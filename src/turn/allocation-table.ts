import { sweepAllocation, type Allocation } from "./allocation.js";
import type { ClientLink } from "./ports.js";

/**
 * Every allocation, by 5-tuple: link (server side + transport), then client address, then client port.
 * Nested maps keep the per-packet lookup to three Map gets on values the socket already gave us.
 */
export interface AllocationTable {
  readonly byLink: Map<ClientLink, Map<string, Map<number, Allocation>>>;
  size: number;
  /** Called once for every allocation removed, whatever removed it (quota release). */
  readonly onRemove: ((allocation: Allocation) => void) | undefined;
}

export function createAllocationTable(onRemove?: (allocation: Allocation) => void): AllocationTable {
  return { byLink: new Map(), size: 0, onRemove };
}

export function findAllocation(table: AllocationTable, link: ClientLink, clientAddress: string, clientPort: number): Allocation | undefined {
  return table.byLink.get(link)?.get(clientAddress)?.get(clientPort);
}

export function addAllocation(table: AllocationTable, allocation: Allocation): void {
  const { link, clientAddress, clientPort } = allocation.fiveTuple;
  let byAddress = table.byLink.get(link);
  if (!byAddress) table.byLink.set(link, (byAddress = new Map()));
  let byPort = byAddress.get(clientAddress);
  if (!byPort) byAddress.set(clientAddress, (byPort = new Map()));
  byPort.set(clientPort, allocation);
  table.size++;
}

/** Removes the allocation, closes its relay sockets and returns its quota. */
export function removeAllocation(table: AllocationTable, allocation: Allocation): void {
  const { link, clientAddress, clientPort } = allocation.fiveTuple;
  const byAddress = table.byLink.get(link);
  const byPort = byAddress?.get(clientAddress);
  if (byPort?.get(clientPort) !== allocation) return;
  byPort.delete(clientPort);
  if (byPort.size === 0) byAddress!.delete(clientAddress);
  if (byAddress!.size === 0) table.byLink.delete(link);
  table.size--;
  for (const relay of allocation.relays) relay.close();
  table.onRemove?.(allocation);
}

/** Every allocation on a link (a TCP/TLS connection has at most one; a UDP socket many). */
export function allocationsOnLink(table: AllocationTable, link: ClientLink): Allocation[] {
  const found: Allocation[] = [];
  for (const byPort of table.byLink.get(link)?.values() ?? []) found.push(...byPort.values());
  return found;
}

export interface SweepResult {
  readonly expiredAllocations: readonly Allocation[];
  readonly expiredPermissions: number;
  readonly expiredChannels: number;
}

/** The one sweeper: expires allocations, then permissions and channels of those that remain. */
export function sweepExpired(table: AllocationTable, nowMs: number): SweepResult {
  const expiredAllocations: Allocation[] = [];
  let expiredPermissions = 0;
  let expiredChannels = 0;
  for (const byAddress of table.byLink.values()) {
    for (const byPort of byAddress.values()) {
      for (const allocation of byPort.values()) {
        if (allocation.expiresAtMs <= nowMs) {
          expiredAllocations.push(allocation);
          continue;
        }
        const swept = sweepAllocation(allocation, nowMs);
        expiredPermissions += swept.permissions;
        expiredChannels += swept.channels;
      }
    }
  }
  for (const allocation of expiredAllocations) removeAllocation(table, allocation);
  return { expiredAllocations, expiredPermissions, expiredChannels };
}
