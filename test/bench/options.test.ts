import { describe, expect, it } from "vitest";
import { parseOptions, UsageError, type BenchOptions } from "../../bench/options.js";

function parsed(...argv: string[]): BenchOptions {
  const options = parseOptions(argv);
  if (options === "help") throw new Error("help");
  return options;
}

describe("bench options", () => {
  it("records results for the plain full run only", () => {
    expect(parsed().recordsResults).toBe(true);
    expect(parsed("--quick").recordsResults).toBe(false);
    expect(parsed("--smoke").recordsResults).toBe(false);
    expect(parsed("--servers", "turnpike,coturn").recordsResults).toBe(false);
    expect(parsed("--repetitions", "1").recordsResults).toBe(false);
    expect(parsed("--churn-passes", "4").recordsResults).toBe(false);
    expect(parsed("--verbose").recordsResults).toBe(true);
  });

  it("runs two allocation passes unless told more, with time for the extra ones", () => {
    const plain = parsed();
    expect(plain.profile.churn.passes).toBe(2);
    const more = parsed("--churn-passes=5");
    expect(more.profile.churn.passes).toBe(5);
    expect(more.profile.churn.timeLimitMs).toBeGreaterThan(plain.profile.churn.timeLimitMs);
    expect(more.profile.runTimeLimitMs).toBeGreaterThan(plain.profile.runTimeLimitMs);
    expect(parsed("--quick", "--churn-passes", "3").profile.churn.count).toBe(parsed("--quick").profile.churn.count);
  });

  it("refuses a pass count outside 2 to 10", () => {
    for (const bad of ["1", "11", "2.5", "many"]) expect(() => parseOptions(["--churn-passes", bad])).toThrow(UsageError);
    expect(() => parseOptions(["--churn-passes"])).toThrow(UsageError);
  });
});
