import { describe, expect, it } from "vitest";
import { expiryPruner, knownRevocations } from "../../src/server/known-revocations.js";

describe("known revocations", () => {
  it("says whether a name is new, so a reconnection's read of the keys applies none twice", () => {
    const known = knownRevocations(() => 0);
    expect(known.note("1900000000:alice", 1_900_000_000_000)).toBe(true);
    expect(known.note("1900000000:alice", 1_900_000_000_000)).toBe(false);
    expect(known.note("1900000000:bob", 1_900_000_000_000)).toBe(true);
    expect(known.size).toBe(2);
  });

  it("drops the expired ones as the list doubles, and keeps the live ones", () => {
    let now = 0;
    const known = knownRevocations(() => now);
    for (let i = 0; i < 1000; i++) known.note(`${1000 + i}:short`, 5_000);
    for (let i = 0; i < 23; i++) known.note(`${9000 + i}:long`, 1_000_000);
    now = 10_000;
    // The 1,024th name: the 1,000 past their expiry go.
    known.note("9999:last", 1_000_000);
    expect(known.size).toBe(24);
    expect(known.note("1000:short", 20_000)).toBe(true);
    expect(known.note("9000:long", 1_000_000)).toBe(false);
  });

  it("the pool's list of revoked names: pruned outright when a thread starts, else as it doubles", () => {
    let now = 0;
    const revoked = new Map<string, number>([["1:old", 5], ["9:live", 1_000]]);
    const pruner = expiryPruner(revoked, () => now);
    now = 10;
    pruner.added();
    expect([...revoked.keys()]).toEqual(["1:old", "9:live"]);
    pruner.now();
    expect([...revoked.keys()]).toEqual(["9:live"]);
  });
});
