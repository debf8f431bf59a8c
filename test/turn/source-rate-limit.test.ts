import { describe, expect, it } from "vitest";
import { createLogBudget } from "../../src/turn/log-budget.js";
import { createSourceRateLimit } from "../../src/turn/source-rate-limit.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

describe("unauthorized-ratelimit buckets", () => {
  it("allows a burst, then refills at the configured rate", () => {
    const limit = createSourceRateLimit({ burst: 5, perSecond: 2 });
    const at = (ms: number) => limit.take("198.51.100.7", ms);
    expect([0, 0, 0, 0, 0, 0].map(at)).toEqual([true, true, true, true, true, false]);
    expect(at(400)).toBe(false);
    expect(at(500)).toBe(true); // 0.5 s at 2/s refilled one token
    expect(limit.suppressed).toBe(2);
  });

  it("keeps sources apart and uses fixed memory for any number of them", () => {
    const limit = createSourceRateLimit({ burst: 1, perSecond: 1, buckets: 4096 });
    expect(limit.take("198.51.100.7", 0)).toBe(true);
    expect(limit.take("198.51.100.7", 0)).toBe(false);
    expect(limit.take("203.0.113.9", 0)).toBe(true);
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100_000; i++) limit.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(20 * 1024 * 1024);
  });
});

describe("log budget", () => {
  it("writes at most perInterval lines per message, then one summary of what it held back", () => {
    const log = createRecordingLogger();
    const clock = new ManualClock();
    const budget = createLogBudget(log, clock, { perInterval: 3, intervalMs: 60_000 });
    for (let i = 0; i < 1000; i++) budget.debug({ i }, "request rejected");
    expect(log.records.filter((r) => r.msg === "request rejected")).toHaveLength(3);
    clock.advance(60_000);
    budget.debug({}, "request rejected");
    expect(log.records.find((r) => r.msg === "log lines suppressed")?.obj).toMatchObject({ message: "request rejected", suppressed: 997 });
  });

  it("neither counts nor summarises debug lines when debug is off", () => {
    const log = createRecordingLogger();
    log.level = "info";
    const clock = new ManualClock();
    const budget = createLogBudget(log, clock, { perInterval: 3, intervalMs: 1000 });
    for (let i = 0; i < 100; i++) budget.debug({}, "request rejected");
    clock.advance(1000);
    budget.error({}, "boom");
    expect(log.records.map((r) => r.msg)).toEqual(["boom"]);
  });
});
