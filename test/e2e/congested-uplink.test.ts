// What turnpike does when the link towards peers (or clients) is slower than what arrives for it:
// the kernel's send buffer fills, and libuv would queue every further datagram in memory without a
// limit. In a network namespace of its own, whose only link is throttled to 1 Mbit/s, a fixture
// floods through a relay socket and a UDP listener's link and reports what was dropped.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { createTestNamespace, TEST_HOST_ADDRESS } from "./browser/network-namespace.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/congested-uplink.mjs", import.meta.url));
/** On the namespace's subnet, reached through the throttled link: a neighbour entry and no host. */
const PEER = "10.255.0.99";
/** More of them: the other clients of a listener that PEER floods. */
const OTHER_PEERS = Array.from({ length: 8 }, (_, i) => `10.255.0.${100 + i}`);
const COMMAND_TIMEOUT_MS = 20_000;
/** iproute2 installs tc in /usr/sbin, which a plain user's PATH may lack. */
const TC = ["/usr/sbin/tc", "/sbin/tc"].find((path) => existsSync(path)) ?? "tc";

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: COMMAND_TIMEOUT_MS, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
    });
  });
}

interface FloodResult {
  readonly relay: { readonly taken: number; readonly dropped: number; readonly waiting: number };
  readonly listener: { readonly taken: number; readonly dropped: number; readonly waiting: number };
  readonly rssGrowthMiB: number;
  readonly large: { readonly taken: number; readonly dropped: number; readonly waitingBytes: number };
  readonly group: { readonly taken: number; readonly dropped: number; readonly waitingBytes: number };
  readonly answersWaiting: number;
  readonly shares: {
    readonly flood: { readonly taken: number; readonly dropped: number };
    readonly others: { readonly taken: number; readonly dropped: number };
    readonly floodWaiting: number;
    readonly waiting: number;
  };
}

it("drops datagrams past a bounded send queue on a congested link, instead of holding them all in memory", { timeout: 120_000 }, async () => {
  const namespace = await createTestNamespace();
  try {
    for (const [index, peer] of [PEER, ...OTHER_PEERS].entries()) {
      await run("ip", ["-n", namespace.name, "neigh", "add", peer, "lladdr", `02:00:00:00:01:${index.toString(16).padStart(2, "0")}`, "dev", "tp0"]);
    }
    await run(TC, ["-n", namespace.name, "qdisc", "add", "dev", "tp0", "root", "tbf", "rate", "1mbit", "burst", "32kbit", "limit", "100mb"]);
    const { command, args } = namespace.commandLine(process.execPath, [FIXTURE, TEST_HOST_ADDRESS, PEER, ...OTHER_PEERS]);
    const result = JSON.parse(await run(command, args)) as FloodResult;
    // The kernel took some (its buffer, then the link's pace); the rest was dropped, not queued.
    expect(result.relay.taken).toBeGreaterThan(0);
    expect(result.relay.dropped).toBeGreaterThan(result.relay.taken);
    expect(result.listener.taken).toBeGreaterThan(0);
    expect(result.listener.dropped).toBeGreaterThan(result.listener.taken);
    // Unbounded, libuv held about a gigabyte after 1.5 s of this.
    expect(result.rssGrowthMiB).toBeLessThan(100);
    // An allocation's relay socket holds at most 64 beyond the kernel's buffer. A listener, which every
    // client of its thread shares, holds 512 or 256 KiB, and of that one client (here the only one) an
    // eighth: 32 KiB, 27 of these 1,204-byte datagrams, and the one that found the queue empty.
    expect(result.relay.waiting).toBeGreaterThan(0);
    expect(result.relay.waiting).toBeLessThanOrEqual(64);
    expect(result.listener.waiting).toBeGreaterThan(0);
    expect(result.listener.waiting).toBeLessThanOrEqual(28);
    // 64 KiB of 60,000-byte datagrams is 2 waiting, beside what the kernel's buffer took.
    expect(result.large.taken).toBeGreaterThan(0);
    expect(result.large.taken).toBeLessThan(64);
    expect(result.large.dropped).toBe(5_000 - result.large.taken);
    expect(result.large.waitingBytes).toBeLessThanOrEqual(2 * 60_000);
    // 16 relay sockets of one relay thread may hold 64 KiB each, but no more than the thread's budget
    // together (256 KiB here; 64 MiB by default).
    expect(result.group.taken).toBeGreaterThan(0);
    expect(result.group.waitingBytes).toBeGreaterThan(0);
    expect(result.group.waitingBytes).toBeLessThanOrEqual(256 * 1024);
    // 20,000 answers in one turn: past the bound they are dropped (their clients retransmit), not queued.
    expect(result.answersWaiting).toBeGreaterThan(0);
    expect(result.answersWaiting).toBeLessThanOrEqual(512);
    // A flood towards one client holds its share of a listener's queue; the other clients' datagrams
    // still go (they were all dropped when one flood could fill the queue).
    expect(result.shares.flood.dropped).toBeGreaterThan(result.shares.flood.taken);
    expect(result.shares.floodWaiting).toBeGreaterThan(0);
    expect(result.shares.floodWaiting).toBeLessThanOrEqual(28);
    expect(result.shares.others).toEqual({ taken: OTHER_PEERS.length * 4, dropped: 0 });
    expect(result.shares.waiting).toBeGreaterThan(result.shares.floodWaiting);
  } finally {
    await namespace.remove();
  }
});
