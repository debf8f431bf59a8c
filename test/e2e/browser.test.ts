// The real-browser proof: two RTCPeerConnections in headless Chromium, iceTransportPolicy "relay" and
// turnpike as their only ICE server, exchange data-channel messages through allocations over UDP and
// over TCP (RFC 8656 §3.1). One run uses a static long-term user; the others take their iceServers from
// turnpike's credential endpoint, fetched by the page itself with an API key, as a web app would.
// Server and browser run in a network namespace the test makes and deletes (see browser/network-namespace.ts).
import { createHmac, randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromiumInNamespace, type ChromiumInNamespace } from "./browser/chromium.js";
import { fetchCredentialInPage } from "./browser/credential-fetch.js";
import { createTestNamespace, TEST_HOST_ADDRESS, TEST_SUBNET, type TestNamespace } from "./browser/network-namespace.js";
import {
  exchangeOverRelay,
  type IceServersSource,
  type PeerName,
  type RelayExchangeOptions,
  type RelayExchangeResult,
} from "./browser/relay-exchange.js";
import { startTurnServerProcess, type LogLine, type TurnServerProcess } from "./browser/turn-server-process.js";

// The namespace is the test's own, so the standard ports are free.
const TURN_PORT = 3478;
const REALM = "example.org";
const STATIC_USER = { name: "alice", password: "pw" };
// The endpoint where it listens by default, on loopback: inside the test's namespace that is a loopback
// of its own, which the browser, also inside, reaches; nothing outside can.
const API_ORIGIN = "http://127.0.0.1:8080";
const API_KEY = randomBytes(24).toString("base64url");
const REST_SECRET = randomBytes(24).toString("base64url");
const REST_TTL_SECONDS = 600;
const MESSAGES_EACH_WAY = 50;

// Every wait is bounded, and together they stay within about a minute.
const SETUP_TIMEOUT_MS = 20_000;
const SERVER_START_TIMEOUT_MS = 5_000;
const BROWSER_LAUNCH_TIMEOUT_MS = 12_000;
const NAVIGATION_TIMEOUT_MS = 3_000;
const EXCHANGE_TIMEOUT_MS = 10_000;
const LOG_SETTLE_TIMEOUT_MS = 3_000;
const TEST_TIMEOUT_MS = 18_000;
const TEARDOWN_TIMEOUT_MS = 12_000;

/** The URIs the endpoint hands out: the first (and only) listening address, no TLS listener. */
const TURN_UDP_URI = `turn:${TEST_HOST_ADDRESS}:${TURN_PORT}?transport=udp`;
const TURN_TCP_URI = `turn:${TEST_HOST_ADDRESS}:${TURN_PORT}?transport=tcp`;
const ANSWERED_URIS = [`stun:${TEST_HOST_ADDRESS}:${TURN_PORT}`, TURN_UDP_URI, TURN_TCP_URI];

interface CredentialAnswer {
  readonly username: string;
  readonly password: string;
}

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

function credentialPath(user: string): string {
  return `/api/v1/credentials?username=${encodeURIComponent(user)}`;
}

/** A credential the endpoint answered, checked as a TURN server would check it (draft-uberti-behave-turn-rest-00 §2.2). */
function expectRestCredentialAnswer(answer: unknown, user: string, requestedBetweenMs: readonly [number, number]): CredentialAnswer {
  const { username, password } = (answer ?? {}) as CredentialAnswer;
  // The whole answer, so that what the page hands to RTCPeerConnection unchanged is known exactly.
  expect(answer).toEqual({
    username,
    password,
    ttl: REST_TTL_SECONDS,
    uris: ANSWERED_URIS,
    iceServers: [{ urls: ANSWERED_URIS, username, credential: password }],
  });
  // username "<expiry>:<user>", the expiry in Unix seconds, TTL seconds after the request.
  const match = /^([0-9]+):(.+)$/.exec(username);
  expect(match?.[2], username).toBe(user);
  const expiresAtSeconds = Number(match?.[1]);
  const [fromMs, toMs] = requestedBetweenMs;
  expect(expiresAtSeconds).toBeGreaterThanOrEqual(Math.floor(fromMs / 1000) + REST_TTL_SECONDS);
  expect(expiresAtSeconds).toBeLessThanOrEqual(Math.floor(toMs / 1000) + REST_TTL_SECONDS);
  // password base64(HMAC-SHA1(secret, username)), recomputed here rather than by turnpike's own code.
  expect(password).toBe(createHmac("sha1", REST_SECRET).update(username, "utf8").digest("base64"));
  return { username, password };
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
        ...["--rest-default-ttl", String(REST_TTL_SECONDS)],
        ...["--api-key", API_KEY, "--api-listening-ip", "127.0.0.1", "--api-listening-port", "8080"],
        // Both peers' relayed addresses are on the namespace's private address, denied by default (RFC 8656 §21.3).
        ...["--allowed-peer-ip", TEST_SUBNET],
        // debug adds the "request rejected" lines, with reasons, and the endpoint's "credential minted" lines.
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

  /** A fresh page, on the endpoint's origin when asked, so that its fetches are same-origin (no CORS). */
  async function withPage<T>(onApiOrigin: boolean, use: (page: Page) => Promise<T>): Promise<T> {
    if (browser === undefined) throw new Error("setup failed");
    const page = await browser.context.newPage();
    try {
      if (onApiOrigin) {
        const response = await page.goto(`${API_ORIGIN}/healthz`, { timeout: NAVIGATION_TIMEOUT_MS });
        expect(response?.status()).toBe(200);
      }
      return await use(page);
    } finally {
      await page.close();
    }
  }

  async function exchange(
    iceServers: IceServersSource,
  ): Promise<{ result: RelayExchangeResult; serverLog: readonly LogLine[]; startedAtMs: number; endedAtMs: number }> {
    if (server === undefined) throw new Error("setup failed");
    const { logLines } = server;
    const options: RelayExchangeOptions = {
      iceServers,
      messages: { offerer: messagesFrom("offerer"), answerer: messagesFrom("answerer") },
      timeoutMs: EXCHANGE_TIMEOUT_MS,
    };
    return withPage(iceServers.from === "endpoint", async (page) => {
      const logStart = logLines.length;
      const startedAtMs = Date.now();
      const result = await withTimeout(page.evaluate(exchangeOverRelay, options), EXCHANGE_TIMEOUT_MS + 2_000, "the exchange");
      const endedAtMs = Date.now();
      // The server's relay threads log asynchronously, and on a busy machine their lines can reach the
      // pipe after the page is done: wait, bounded, for one "allocation created" per relayed candidate.
      const relayed = result.gathered.filter((candidate) => candidate.type === "relay").length;
      const created = (): number => logLines.slice(logStart).filter((line) => line.msg === "allocation created").length;
      for (const waitUntil = Date.now() + LOG_SETTLE_TIMEOUT_MS; created() < relayed && Date.now() < waitUntil; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { result, serverLog: logLines.slice(logStart), startedAtMs, endedAtMs };
    });
  }

  /**
   * `transports`: the relay transports the pair in use may have. With the endpoint's answer unchanged,
   * each peer allocates over UDP and over TCP, and which pair ICE settles on depends on timing.
   */
  function expectRelayedExchange(
    expected: { transports: readonly ("udp" | "tcp")[]; username: string },
    { result, serverLog }: Awaited<ReturnType<typeof exchange>>,
  ): void {
    const { username } = expected;
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
      const transport = pair.local.relayProtocol as "udp" | "tcp";
      expect(expected.transports, diagnostics).toContain(transport);
      expect(pair, diagnostics).toMatchObject({
        nominated: true,
        local: { candidateType: "relay", address: TEST_HOST_ADDRESS, protocol: "udp", url: `turn:${TEST_HOST_ADDRESS}:${TURN_PORT}?transport=${transport}` },
        remote: { candidateType: "relay", address: TEST_HOST_ADDRESS },
      });
    }

    // Every message arrived, once, in order, both ways.
    expect(result.received.answerer).toEqual(messagesFrom("offerer"));
    expect(result.received.offerer).toEqual(messagesFrom("answerer"));

    // Each pair's local candidate is a relayed address the server allocated in this run, for this
    // credential, over this transport; and this run's allocations were all made with this credential.
    const allocations = serverLog.filter((line) => line.msg === "allocation created");
    expect(allocations.length, diagnostics).toBeGreaterThanOrEqual(2);
    expect(allocations.map((line) => line["username"])).toEqual(allocations.map(() => username));
    for (const pair of result.selectedPairs) {
      const relayedAddresses = allocations
        .filter((line) => String(line["fiveTuple"]).startsWith(`${pair.local.relayProtocol} `))
        .flatMap((line) => line["relayedAddresses"] as string[]);
      expect(relayedAddresses, diagnostics).toContain(`${pair.local.address}:${pair.local.port}`);
    }

    // A real client's requests were all accepted (the plain 401 challenges are not logged), and nothing went wrong.
    expect(serverLog.filter((line) => line.msg === "request rejected" || line.msg === "credential rejected" || line.level >= 50)).toEqual([]);
  }

  /** "udp" or "tcp" for each allocation made during the run: how its client reached the server. */
  function allocationTransports(serverLog: readonly LogLine[]): Set<string> {
    const allocations = serverLog.filter((line) => line.msg === "allocation created");
    return new Set(allocations.map((line) => String(line["fiveTuple"]).split(" ")[0] ?? ""));
  }

  /** The endpoint minted exactly this credential, once, during the run. */
  function expectMintedOnce(serverLog: readonly LogLine[], username: string): void {
    const minted = serverLog.filter((line) => line.msg === "credential minted");
    expect(minted.map((line) => [line["username"], line["ttlSeconds"]])).toEqual([[username, REST_TTL_SECONDS]]);
  }

  it("the credential endpoint listens on the namespace's loopback and refuses a wrong API key from the page with 401 (RFC 6750 §3.1)", async () => {
    const started = server?.logLines.find((line) => line.msg === "turnpike started");
    expect(started?.["api"]).toEqual({ address: "127.0.0.1", port: 8080, tls: false });

    const logStart = server?.logLines.length ?? 0;
    const wrongKey = randomBytes(24).toString("base64url");
    const answer = await withPage(true, (page) =>
      withTimeout(
        page.evaluate(fetchCredentialInPage, { path: credentialPath("mallory"), apiKey: wrongKey, timeoutMs: 3_000 }),
        5_000,
        "the credential request",
      ),
    );
    expect(answer.status).toBe(401);
    expect(answer.wwwAuthenticate).toContain('error="invalid_token"');
    expect(answer.body).not.toContain(wrongKey);
    const serverLog = server?.logLines.slice(logStart) ?? [];
    expect(serverLog.filter((line) => line.msg === "credential minted" || line.level >= 50)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it("UDP to the server, static long-term user (RFC 8489 §9.2): relayed candidates only, 50 messages each way in order", async () => {
    const iceServer = { urls: TURN_UDP_URI, username: STATIC_USER.name, credential: STATIC_USER.password };
    const outcome = await exchange({ from: "given", iceServers: [iceServer] });
    expectRelayedExchange({ transports: ["udp"], username: STATIC_USER.name }, outcome);
  }, TEST_TIMEOUT_MS);

  it("REST credential fetched by the page, its iceServers unchanged: relayed (UDP or TCP, as ICE settles), 50 messages each way in order", async () => {
    const outcome = await exchange({ from: "endpoint", path: credentialPath("web-udp"), apiKey: API_KEY, keep: "all" });
    const { startedAtMs, endedAtMs, result, serverLog } = outcome;
    expect(result.credentialAnswer, result.failure).toBeDefined();
    const { username } = expectRestCredentialAnswer(result.credentialAnswer, "web-udp", [startedAtMs, endedAtMs]);
    expect(result.iceServers).toEqual((result.credentialAnswer as { iceServers: unknown }).iceServers);
    expectMintedOnce(serverLog, username);
    // Both TURN URIs of the answer worked: each peer allocated over UDP and over TCP. ICE usually settles
    // on UDP (Chromium ranks relayed-over-UDP candidates higher, RFC 8445 §5.1.2), but which pair is
    // nominated first depends on timing, so either is accepted here; the next test pins TCP.
    expect(allocationTransports(serverLog)).toEqual(new Set(["udp", "tcp"]));
    expectRelayedExchange({ transports: ["udp", "tcp"], username }, outcome);
  }, TEST_TIMEOUT_MS);

  it("REST credential fetched by the page, only its turn:...?transport=tcp URI kept: relayed over TCP (RFC 8656 §3.1), 50 messages each way in order", async () => {
    const outcome = await exchange({ from: "endpoint", path: credentialPath("web-tcp"), apiKey: API_KEY, keep: "turn-tcp" });
    const { startedAtMs, endedAtMs, result, serverLog } = outcome;
    expect(result.credentialAnswer, result.failure).toBeDefined();
    const { username, password } = expectRestCredentialAnswer(result.credentialAnswer, "web-tcp", [startedAtMs, endedAtMs]);
    expect(result.iceServers).toEqual([{ urls: [TURN_TCP_URI], username, credential: password }]);
    expectMintedOnce(serverLog, username);
    expect(allocationTransports(serverLog)).toEqual(new Set(["tcp"]));
    expectRelayedExchange({ transports: ["tcp"], username }, outcome);
  }, TEST_TIMEOUT_MS);
});
