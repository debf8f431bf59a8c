import type { AllocationQuota } from "./ports.js";

/** Counts the quota holds; the local form of AllocationQuota, and the main thread's ledger for workers. */
export interface QuotaLedger {
  tryReserve(username: string): "ok" | "user-quota" | "total-quota";
  release(username: string): void;
  setLimits(limits: { userQuota: number; totalQuota: number }): void;
  readonly total: number;
}

export function createQuotaLedger(limits: { userQuota: number; totalQuota: number }): QuotaLedger {
  let { userQuota, totalQuota } = limits;
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
    setLimits(next) {
      ({ userQuota, totalQuota } = next);
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
