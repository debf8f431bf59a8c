import type { Clock } from "../turn/ports.js";

/** How stale a time read may be: far below anything TURN times (permissions, channels, bandwidth per second). */
export const COARSE_CLOCK_RESOLUTION_MS = 4;

export interface CoarseClock extends Clock {
  stop(): void;
}

/**
 * The relay thread's clock: Date.now() read at most once per `resolutionMs` while it is asked. The
 * relay asks once per packet, and every Date.now() makes a heap number (a timestamp is past V8's small
 * integers); a kept value is handed out without allocating. The timer runs only while asked: after a
 * tick with no reads it stops, so an idle thread is not woken, and the next read starts it again.
 */
export function createCoarseClock(resolutionMs = COARSE_CLOCK_RESOLUTION_MS): CoarseClock {
  let nowMs = 0;
  let asked = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    clearInterval(timer);
    timer = undefined;
  };
  const tick = (): void => {
    if (!asked) return stop();
    asked = false;
    nowMs = Date.now();
  };
  return {
    now() {
      if (timer === undefined) {
        nowMs = Date.now();
        timer = setInterval(tick, resolutionMs).unref();
      }
      asked = true;
      return nowMs;
    },
    stop,
  };
}
