import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load-config.js";
import { relayThreadCount } from "../../src/server/server.js";

describe("relay-threads", () => {
  it("runs one per CPU when unset", () => {
    const { config } = loadConfig({ args: [] });
    expect(config.relayThreads).toBeUndefined();
    expect(relayThreadCount(config.relayThreads)).toBe(availableParallelism());
  });

  it("reads 0 as coturn does, one thread (its single-threaded mode), not one per CPU", () => {
    const { config } = loadConfig({ args: ["--relay-threads", "0"] });
    expect(config.relayThreads).toBe(0);
    expect(relayThreadCount(config.relayThreads)).toBe(1);
  });

  it.each([1, 2, 7])("runs %i when set to %i", (count) => {
    expect(relayThreadCount(loadConfig({ args: ["--relay-threads", String(count)] }).config.relayThreads)).toBe(count);
  });
});
