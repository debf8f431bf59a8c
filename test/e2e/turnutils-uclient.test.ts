import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { freePort, runBounded, startProcess, waitForUdpEcho } from "../helpers/processes.js";

// coturn's own TURN test client against turnpike, relaying to coturn's UDP echo peer on loopback.
const MESSAGES = 50;
const CLIENTS = 4;

interface UclientResult {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly output: string;
}

async function runUclient(serverPort: number, peerPort: number, flags: readonly string[], credentials: readonly string[]): Promise<UclientResult> {
  const args = [
    ...flags,
    ...credentials,
    "-p", String(serverPort),
    "-e", "127.0.0.1",
    "-r", String(peerPort),
    "-n", String(MESSAGES),
    "-m", String(CLIENTS),
    "-l", "100",
    "-z", "5",
    "-c", // no RTCP allocations
    "127.0.0.1",
  ];
  const { stdout } = await runBounded("turnutils_uclient", args, 40_000);
  const totals = [...stdout.matchAll(/tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/gm)].at(-1);
  const lost = /Total lost packets (\d+)/.exec(stdout);
  return { sent: Number(totals?.[1] ?? -1), received: Number(totals?.[2] ?? -1), lost: Number(lost?.[1] ?? -1), output: stdout };
}

describe.concurrent("coturn's turnutils_uclient through turnpike (RFC 8656 over UDP and TCP)", () => {
  const logger = createRecordingLogger();
  let server: RunningServer;
  let peer: ReturnType<typeof startProcess>;
  let peerPort: number;
  let serverPort: number;

  beforeAll(async () => {
    peerPort = await freePort();
    peer = startProcess("turnutils_peer", ["-p", String(peerPort), "-L", "127.0.0.1"]);
    await waitForUdpEcho(peerPort);
    server = await startServer(
      configFromObject({
        noApi: true,
        listeningIps: ["127.0.0.1"],
        listeningPort: 0,
        realm: "example.org",
        users: ["alice:wonderland"],
        useAuthSecret: true,
        staticAuthSecrets: ["north-secret", "old-secret"],
        allowLoopbackPeers: true,
        // Several uclient runs share the user at once, 4 allocations each.
        userQuota: 100,
        // turnutils_uclient binds channel numbers from RFC 5766's 0x4000-0x7FFF.
        rfc5766ChannelNumbers: true,
      }),
      { logger },
    );
    // UDP and TCP share a port number only when it is fixed; with port 0 each got its own.
    serverPort = server.listeners.find((l) => l.transport === "udp")!.port;
  });

  afterAll(async () => {
    await server?.close();
    await peer?.stop();
    expect(logger.errors()).toEqual([]);
  });

  const STATIC = ["-u", "alice", "-w", "wonderland"];
  const REST = ["-u", "carol", "-W", "north-secret"];

  it.each([
    ["UDP, ChannelData, static user", [], STATIC],
    ["UDP, Send/Data indications, static user", ["-s"], STATIC],
    ["UDP, ChannelData, REST credential", [], REST],
    ["TCP, ChannelData, static user", ["-t"], STATIC],
    ["TCP, Send/Data indications, REST credential", ["-t", "-s"], REST],
  ])("%s: every message echoed, zero loss", async (_name, flags, credentials) => {
    const port = flags.includes("-t") ? server.listeners.find((l) => l.transport === "tcp")!.port : serverPort;
    const result = await runUclient(port, peerPort, flags, credentials);
    expect(result.sent, result.output.slice(-2000)).toBe(MESSAGES * CLIENTS);
    expect(result.received, result.output.slice(-2000)).toBe(result.sent);
    expect(result.lost).toBe(0);
    expect(result.output).not.toMatch(/error 4\d\d/);
  });

  it("is refused with a wrong password: no allocation completes", async () => {
    const result = await runUclient(serverPort, peerPort, [], ["-u", "mallory", "-w", "not-it"]);
    expect(result.received).toBeLessThanOrEqual(0);
    expect(result.output).toMatch(/Cannot complete Allocation/);
    expect(result.output).not.toMatch(/Connection refused/); // the server was there and said no
    const created = logger.records.filter((r) => r.msg === "allocation created").map((r) => (r.obj as { username?: string }).username);
    expect(created).not.toContain("mallory");
  });
});
