// The real-browser proof: two RTCPeerConnections in headless Chromium, iceTransportPolicy "relay" and
// turnpike as their only ICE server, exchange data-channel messages through allocations over UDP and
// over TCP (RFC 8656 §3.1), one run with a static long-term user, one with a REST credential.
// Server and browser run in a network namespace the test makes and deletes (see browser/network-namespace.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintRestCredential } from "../../src/credentials/rest-credentials.js";
import { launchChromiumInNamespace, type ChromiumInNamespace } from "./browser/chromium.js";
import { createTestNamespace, TEST_SUBNET, type TestNamespace } from "./browser/network-namespace.js";
import {
  exchangeOverRelay,
  type IceServer,
  type PeerName,
  type RelayExchangeOptions,
  type RelayExchangeResult,
} from "./browser/relay-exchange.js";
import { startTurnServerProcess, type LogLine, type TurnServerProcess } from "./browser/turn-server-process.js";

// The namespace is the test's own, so the standard port is free.
const TURN_PORT = 3478;
const REALM = "example.org";
const STATIC_USER = { name: "alice", password: "pw" };
const REST_SECRET = "browser-test-shared-secret";
const MESSAGES_EACH_WAY = 50;

// Every wait is bounded, and together they stay within about a minute.
const SETUP_TIMEOUT_MS = 20_000;
const SERVER_START_TIMEOUT_MS = 5_000;
const BROWSER_LAUNCH_TIMEOUT_MS = 12_000;
const EXCHANGE_TIMEOUT_MS = 10_000;
const TEST_TIMEOUT_MS = 15_000;
const TEARDOWN_TIMEOUT_MS = 12_000;

/** Sizes grow with the index, up to about 1 kB, so the relay carries more than one size. */
function messagesFrom(peer: PeerName): string[] {
  return Array.from({ length: MESSAGES_EACH_WAY }, (_, index) => `${peer} ${index} ${"x".repeat(index * 20)}`);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}

describe("WebRTC data channel through turnpike in headless Chromium, relay only (RFC 8656)", () => {
  let namespace: TestNamespace | undefined;
  let server: TurnServerProcess | undefined;
  let browser: ChromiumInNamespace | undefined;

  beforeAll(async () => {
    namespace = await createTestNamespace();
    server = await startTurnServerProcess(
      namespace,
      [
        ...["--listening-ip", namespace.address, "--listening-port", String(TURN_PORT)],
        ...["--user", `${STATIC_USER.name}:${STATIC_USER.password}`],
        ...["--use-auth-secret", "--static-auth-secret", REST_SECRET, "--realm", REALM],
        // Both peers' relayed addresses are on the namespace's private address, denied by default (RFC 8656 §21.3).
        ...["--allowed-peer-ip", TEST_SUBNET],
        // debug adds only the "request rejected" lines, with reasons, to the diagnostics.
        ...["--log-level", "debug"],
      ],
      SERVER_START_TIMEOUT_MS,
    );
    browser = await launchChromiumInNamespace(namespace, BROWSER_LAUNCH_TIMEOUT_MS);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    try {
      await browser?.close(5_000);
    } finally {
      try {
        await server?.stop(3_000);
      } finally {
        await namespace?.remove();
      }
    }
  }, TEARDOWN_TIMEOUT_MS);

  async function exchange(
    transport: "udp" | "tcp",
    credential: { username: string; password: string },
  ): Promise<{ result: RelayExchangeResult; serverLog: readonly LogLine[]; url: string }> {
    if (browser === undefined || server === undefined || namespace === undefined) throw new Error("setup failed");
    const url = `turn:${namespace.address}:${TURN_PORT}?transport=${transport}`;
    const iceServer: IceServer = { urls: url, username: credential.username, credential: credential.password };
    const options: RelayExchangeOptions = {
      iceServer,
      messages: { offerer: messagesFrom("offerer"), answerer: messagesFrom("answerer") },
      timeoutMs: EXCHANGE_TIMEOUT_MS,
    };
    const logStart = server.logLines.length;
    const page = await browser.context.newPage();
    try {
      const result = await withTimeout(page.evaluate(exchangeOverRelay, options), EXCHANGE_TIMEOUT_MS + 2_000, "the exchange");
      return { result, serverLog: server.logLines.slice(logStart), url };
    } finally {
      await page.close();
    }
  }

  function expectRelayedExchange(
    transport: "udp" | "tcp",
    username: string,
    { result, serverLog, url }: Awaited<ReturnType<typeof exchange>>,
  ): void {
    const diagnostics = JSON.stringify(
      { ...result, received: { offerer: result.received.offerer.length, answerer: result.received.answerer.length }, serverLog },
      null,
      2,
    );
    expect(result.failure, diagnostics).toBeUndefined();
    expect(result.candidateErrors, diagnostics).toEqual([]);

    // Only relayed candidates were gathered, by both peers.
    expect(result.gathered.length, diagnostics).toBeGreaterThanOrEqual(2);
    expect(new Set(result.gathered.map((candidate) => candidate.peer))).toEqual(new Set(["offerer", "answerer"]));
    for (const candidate of result.gathered) expect(candidate.type, candidate.candidate).toBe("relay");

    // The pair in use on each side joins two relayed transport addresses, reached through our server.
    expect(result.selectedPairs.map((pair) => pair.peer).sort(), diagnostics).toEqual(["answerer", "offerer"]);
    for (const pair of result.selectedPairs) {
      expect(pair, diagnostics).toMatchObject({
        nominated: true,
        local: { candidateType: "relay", address: namespace?.address, protocol: "udp", relayProtocol: transport, url },
        remote: { candidateType: "relay", address: namespace?.address },
      });
    }

    // Every message arrived, once, in order, both ways.
    expect(result.received.answerer).toEqual(messagesFrom("offerer"));
    expect(result.received.offerer).toEqual(messagesFrom("answerer"));

    // Each pair's local candidate is a relayed address the server allocated in this run, for this
    // credential, over this transport.
    const relayedAddresses = serverLog
      .filter(
        (line) =>
          line.msg === "allocation created" &&
          line["username"] === username &&
          String(line["fiveTuple"]).startsWith(`${transport} `),
      )
      .flatMap((line) => line["relayedAddresses"] as string[]);
    for (const pair of result.selectedPairs) {
      expect(relayedAddresses, diagnostics).toContain(`${pair.local.address}:${pair.local.port}`);
    }

    // A real client's requests were all accepted (401 challenges are not logged), and nothing went wrong.
    expect(serverLog.filter((line) => line.msg === "request rejected" || line.level >= 50)).toEqual([]);
  }

  it("UDP to the server, static long-term user (RFC 8489 §9.2): relayed candidates only, 50 messages each way in order", async () => {
    const outcome = await exchange("udp", { username: STATIC_USER.name, password: STATIC_USER.password });
    expectRelayedExchange("udp", STATIC_USER.name, outcome);
  }, TEST_TIMEOUT_MS);

  it("TCP to the server (RFC 8656 §3.1), REST credential: relayed candidates only, 50 messages each way in order", async () => {
    const credential = mintRestCredential({ secret: REST_SECRET, user: "bob", ttlSeconds: 600, nowMs: Date.now() });
    const outcome = await exchange("tcp", credential);
    expectRelayedExchange("tcp", credential.username, outcome);
  }, TEST_TIMEOUT_MS);
});
