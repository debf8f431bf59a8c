import type { Logger } from "./ports.js";

/**
 * Caps log lines that a client can cause (rejected requests, handler failures): at most `perInterval`
 * per message in each interval; what is held back is reported once, as a count, when the next interval
 * opens. A flood of bad packets costs a bounded number of lines.
 */
export interface LogBudget {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  /** For a line whose fields cost to build: true (and counted) when an info line `msg` may be written now. */
  admitsInfo(msg: string): boolean;
}

export function createLogBudget(log: Logger, clock: { now(): number }, options: { perInterval: number; intervalMs: number }): LogBudget {
  const counts = new Map<string, { written: number; held: number }>();
  let intervalStart = clock.now();

  function admit(msg: string): boolean {
    const now = clock.now();
    if (now - intervalStart >= options.intervalMs) {
      for (const [message, count] of counts) {
        if (count.held > 0) log.warn({ message, suppressed: count.held, intervalSeconds: options.intervalMs / 1000 }, "log lines suppressed");
      }
      counts.clear();
      intervalStart = now;
    }
    let count = counts.get(msg);
    if (!count) counts.set(msg, (count = { written: 0, held: 0 }));
    if (count.written < options.perInterval) {
      count.written++;
      return true;
    }
    count.held++;
    return false;
  }

  const debugOff = log.isLevelEnabled !== undefined && !log.isLevelEnabled("debug");
  const infoOff = log.isLevelEnabled !== undefined && !log.isLevelEnabled("info");
  return {
    debug(obj, msg) {
      if (!debugOff && admit(msg)) log.debug(obj, msg);
    },
    info(obj, msg) {
      if (!infoOff && admit(msg)) log.info(obj, msg);
    },
    error(obj, msg) {
      if (admit(msg)) log.error(obj, msg);
    },
    admitsInfo: (msg) => !infoOff && admit(msg),
  };
}
