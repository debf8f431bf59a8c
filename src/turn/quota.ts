import type { AllocationQuota, QuotaAnswer } from "./ports.js";

export interface QuotaLimits {
  readonly userQuota: number;
  readonly totalQuota: number;
  readonly maxBps?: number;
  readonly bpsCapacity?: number;
}

/** Counts the quota holds of one relay thread serving alone (relay threads share theirs: server/shared-quota). */
export interface QuotaLedger {
  tryReserve(username: string): QuotaAnswer;
  /** A hold whatever the limits (AllocationQuota.reserveForClaim). */
  reserve(username: string): void;
  /** What tryReserve would answer now. */
  room(username: string): QuotaAnswer;
  release(username: string): void;
  /** Allocations `username` holds now. */
  held(username: string): number;
  setLimits(limits: QuotaLimits): void;
  readonly total: number;
}

/** RFC 8656 §7.2, checked in this order: the per-user quota (486), then the server's capacity (508). */
export function quotaAnswer(userHeld: number, userQuota: number, total: number, totalQuota: number): QuotaAnswer {
  if (userHeld >= userQuota) return "user-quota";
  if (total >= totalQuota) return "total-quota";
  return "ok";
}

/** total-quota, lowered by bps-capacity: each allocation reserves max-bps of it. */
export function effectiveTotalQuota(limits: Omit<QuotaLimits, "userQuota">): number {
  const { totalQuota, maxBps = 0, bpsCapacity = 0 } = limits;
  return maxBps > 0 && bpsCapacity > 0 ? Math.min(totalQuota, Math.floor(bpsCapacity / maxBps)) : totalQuota;
}

export function createQuotaLedger(limits: QuotaLimits): QuotaLedger {
  let userQuota = limits.userQuota;
  let totalQuota = effectiveTotalQuota(limits);
  const byUser = new Map<string, number>();
  let total = 0;
  function reserve(username: string): void {
    byUser.set(username, (byUser.get(username) ?? 0) + 1);
    total++;
  }
  function room(username: string): QuotaAnswer {
    return quotaAnswer(byUser.get(username) ?? 0, userQuota, total, totalQuota);
  }
  return {
    tryReserve(username) {
      const answer = room(username);
      if (answer === "ok") reserve(username);
      return answer;
    },
    reserve,
    room,
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

/** A single relay thread's quota: the ledger itself. */
export function createLocalQuota(ledger: QuotaLedger): AllocationQuota {
  return {
    reserve: (username) => ledger.tryReserve(username),
    reserveForClaim(username) {
      const room = ledger.room(username);
      ledger.reserve(username);
      return { room, held: true };
    },
    release: (username) => ledger.release(username),
  };
}
