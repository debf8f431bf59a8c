import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Method } from "../../src/stun/constants.js";
import { halfSipHash3 } from "../../src/turn/half-siphash.js";
import { createLogBudget } from "../../src/turn/log-budget.js";
import { createSourceRateLimit, type SourceRateLimit } from "../../src/turn/source-rate-limit.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { createTurnHarness, HarnessClient } from "../helpers/turn-harness.js";
import { FakeLink } from "../helpers/fakes.js";

const KEY = Buffer.from("a1b2c3d4e5f60718", "hex");

/** How many of `count` answers `address` gets at time `nowMs`. */
function answered(limit: SourceRateLimit, address: string, count: number, nowMs = 0): number {
  let allowed = 0;
  for (let i = 0; i < count; i++) if (limit.take(address, nowMs)) allowed++;
  return allowed;
}

describe("unauthorized-ratelimit buckets", () => {
  it("allows a burst, then refills at the configured rate", () => {
    const limit = createSourceRateLimit({ burst: 5, perSecond: 2, key: KEY });
    const at = (ms: number) => limit.take("198.51.100.7", ms);
    expect([0, 0, 0, 0, 0, 0].map(at)).toEqual([true, true, true, true, true, false]);
    expect(at(400)).toBe(false);
    expect(at(500)).toBe(true); // 0.5 s at 2/s refilled one token
  });

  it("keeps sources apart and uses fixed memory for any number of them", () => {
    const limit = createSourceRateLimit({ burst: 1, perSecond: 1, buckets: 4096, key: KEY });
    expect(limit.take("198.51.100.7", 0)).toBe(true);
    expect(limit.take("198.51.100.7", 0)).toBe(false);
    expect(limit.take("203.0.113.9", 0)).toBe(true);
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100_000; i++) limit.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(20 * 1024 * 1024);
  });

  it("a flood from an address chosen to collide with another's under an unkeyed hash leaves the other its whole allowance", () => {
    // 127.9.6.169 and 127.0.0.1 fall in the same one of 4,096 slots under FNV-1a of their text.
    for (let seed = 0; seed < 32; seed++) {
      const limit = createSourceRateLimit({ burst: 200, perSecond: 20, key: Buffer.alloc(8, seed * 37 + 1) });
      expect(answered(limit, "127.9.6.169", 1000)).toBe(200);
      expect(answered(limit, "127.0.0.1", 10)).toBe(10);
    }
  });

  it("sources that must share a slot share its allowance: stricter, never looser", () => {
    const limit = createSourceRateLimit({ burst: 4, perSecond: 1, buckets: 1, key: KEY });
    expect(answered(limit, "198.51.100.7", 3)).toBe(3);
    expect(answered(limit, "203.0.113.9", 3)).toBe(1);
    // Once the bucket is full again it holds nothing to remember: the next source starts afresh.
    expect(answered(limit, "203.0.113.9", 5, 4000)).toBe(4);
  });

  it("counts an IPv6 /64 as one source, however its interface identifiers and text vary", () => {
    const limit = createSourceRateLimit({ burst: 10, perSecond: 1, key: KEY });
    const sameSlash64 = ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0db8:0001:0002:0:0:0:7", "2001:DB8:1:2::a:b", "2001:db8:1:2::1.2.3.4"];
    let allowed = 0;
    for (let round = 0; round < 4; round++) for (const address of sameSlash64) allowed += answered(limit, address, 1);
    expect(allowed).toBe(10);
    expect(answered(limit, "2001:db8:1:3::1", 1)).toBe(1); // the next /64
    expect(answered(limit, "2001:db8::1", 1)).toBe(1);
    expect(answered(limit, "fe80::1%eth0", 10)).toBe(10);
    expect(answered(limit, "fe80::2%eth1", 1)).toBe(0); // the zone does not make another source
  });

  it("one host cycling through the 2^64 addresses of its /64 gets one allowance and takes no slot from others", () => {
    const limit = createSourceRateLimit({ burst: 200, perSecond: 20, buckets: 4096, key: KEY });
    let allowed = 0;
    for (let i = 0; i < 20_000; i++) if (limit.take(`2001:db8:aa:bb:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}:${i % 7}:1`, 0)) allowed++;
    expect(allowed).toBe(200);
    for (let i = 0; i < 1000; i++) expect(limit.take(`198.51.${i >> 8}.${i & 255}`, 0)).toBe(true);
  });

  it("counts an IPv4-mapped IPv6 address (a dual-stack socket) as the IPv4 address", () => {
    const limit = createSourceRateLimit({ burst: 6, perSecond: 1, key: KEY });
    expect(answered(limit, "198.51.100.7", 2)).toBe(2);
    expect(answered(limit, "::ffff:198.51.100.7", 2)).toBe(2);
    expect(answered(limit, "::FFFF:c633:6407", 2)).toBe(2); // the same address in hex groups
    expect(answered(limit, "198.51.100.7", 1)).toBe(0);
    expect(answered(limit, "::ffff:198.51.100.8", 1)).toBe(1);
    // Not mapped: the IPv4-compatible form and a NAT64 prefix are IPv6 sources of their own.
    expect(answered(limit, "::198.51.100.7", 1)).toBe(1);
    expect(answered(limit, "64:ff9b::198.51.100.7", 1)).toBe(1);
  });

  it("takes text that is no address as one source of its own and never throws on it", () => {
    const limit = createSourceRateLimit({ burst: 3, perSecond: 1, key: KEY });
    let allowed = 0;
    for (const text of ["", "::1::2", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1:2:3:4:5:6:7:8:9", "12345::", "host.example", ":1", "1:", "x"]) allowed += answered(limit, text, 1);
    expect(allowed).toBe(3);
    expect(answered(limit, "1.2.3.4", 1)).toBe(1);
  });

  it("needs a key", () => {
    expect(() => createSourceRateLimit({ burst: 1, perSecond: 1, key: new Uint8Array(4) })).toThrow(/key/);
    expect(() => createSourceRateLimit({ burst: 1, perSecond: 1, buckets: 1000, key: KEY })).toThrow(/power of two/);
  });
});

describe("HalfSipHash-2-4", () => {
  it("gives the reference implementation's 32-bit vector for the 12 bytes 00..0b under the key 00..07", () => {
    expect(halfSipHash3(0x03020100, 0x07060504, 0x03020100, 0x07060504, 0x0b0a0908)).toBe(0x2f87f057);
  });
});

describe("unauthorized-ratelimit in the dispatcher", () => {
  const allocate = (client: HarnessClient) => client.builder.build(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }]);

  it("counts each answer it drops, and says so in one info line a minute", async () => {
    const h = createTurnHarness({ unauthenticatedLimit: createSourceRateLimit({ burst: 3, perSecond: 1, key: randomBytes(8) }) });
    const client = new HarnessClient(h);
    let answers = 0;
    for (let i = 0; i < 10; i++) answers += (await client.sendRaw(allocate(client))).length;
    expect(answers).toBe(3);
    expect(h.deps.counters.unauthenticatedAnswersDropped).toBe(7);
    expect(h.deps.counters.errorResponses[401]).toBe(3);
    const lines = () => h.log.records.filter((r) => r.msg === "answers to unauthenticated requests dropped (unauthorized-ratelimit)");
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ level: "info", obj: { source: "198.51.100.7", droppedSoFar: 1 } });

    h.clock.advance(60_000);
    for (let i = 0; i < 100; i++) await client.sendRaw(allocate(client));
    expect(h.deps.counters.unauthenticatedAnswersDropped).toBe(7 + 97); // the bucket holds at most 3
    expect(lines()).toHaveLength(2);
    expect(h.log.records.find((r) => r.msg === "log lines suppressed")?.obj).toMatchObject({ message: "answers to unauthenticated requests dropped (unauthorized-ratelimit)", suppressed: 6 });
    // Another source is answered; a request that authenticated is never held back.
    const other = new HarnessClient(h, undefined, "203.0.113.9");
    expect((await other.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }])).messageClass).toBe(2);
  });

  it.each(["tcp", "tls"] as const)("always answers %s clients, whose address cannot be spoofed, even from a source whose UDP allowance is spent", async (transport) => {
    const h = createTurnHarness({ unauthenticatedLimit: createSourceRateLimit({ burst: 3, perSecond: 1, key: randomBytes(8) }) });
    const udp = new HarnessClient(h);
    for (let i = 0; i < 10; i++) await udp.sendRaw(allocate(udp));
    expect(h.deps.counters.unauthenticatedAnswersDropped).toBe(7);
    const stream = new HarnessClient(h, new FakeLink(transport), udp.address, 40001);
    let answers = 0;
    for (let i = 0; i < 10; i++) answers += (await stream.sendRaw(allocate(stream))).length;
    expect(answers).toBe(10);
    expect(h.deps.counters.unauthenticatedAnswersDropped).toBe(7);
    // ...and they take nothing from the UDP allowance.
    h.clock.advance(1000);
    expect((await udp.sendRaw(allocate(udp))).length).toBe(1);
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
