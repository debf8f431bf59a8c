import type { AllocationQuota } from "./ports.js";

/** Counts the quota holds; the local form of AllocationQuota, and the main thread's ledger for workers. */
export interface QuotaLedger {
  tryReserve(username: string): "ok" | "user-quota" | "total-quota";
  release(username: string): void;
  /** Allocations `username` holds now. */
  held(username: string): number;
  setLimits(limits: { userQuota: number; totalQuota: number; maxBps?: number; bpsCapacity?: number }): void;
  readonly total: number;
}

/** total-quota, lowered by bps-capacity: each allocation reserves max-bps of it. */
export function effectiveTotalQuota(limits: { totalQuota: number; maxBps?: number; bpsCapacity?: number }): number {
  const { totalQuota, maxBps = 0, bpsCapacity = 0 } = limits;
  return maxBps > 0 && bpsCapacity > 0 ? Math.min(totalQuota, Math.floor(bpsCapacity / maxBps)) : totalQuota;
}

export function createQuotaLedger(limits: { userQuota: number; totalQuota: number; maxBps?: number; bpsCapacity?: number }): QuotaLedger {
  let userQuota = limits.userQuota;
  let totalQuota = effectiveTotalQuota(limits);
  const byUser = new Map<string, number>();
  let total = 0;
  return {
    tryReserve(username) {
      const held = byUser.get(username) ?? 0;
      // RFC 8656 §7.2: the per-user quota answers 486; the server's capacity answers 508.
      if (held >= userQuota) return "user-quota";
      if (total >= totalQuota) return "total-quota";
      byUser.set(username, held + 1);
      total++;
      return "ok";
    },
    release(username) {
      const held = byUser.get(username);
      if (held === undefined) return;
      if (held > 1) byUser.set(username, held - 1);
      else byUser.delete(username);
      total--;
    },
    held: (username) => byUser.get(username) ?? 0,
    setLimits(next) {
      userQuota = next.userQuota;
      totalQuota = effectiveTotalQuota(next);
    },
    get total() {
      return total;
    },
  };
}

/** A single relay thread's quota: the ledger itself, answered at once. */
export function createLocalQuota(ledger: QuotaLedger): AllocationQuota {
  return {
    reserve: (username) => Promise.resolve(ledger.tryReserve(username)),
    release: (username) => ledger.release(username),
  };
}
