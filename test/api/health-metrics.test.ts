import { afterEach, describe, expect, it } from "vitest";
import { baseStats, bearer, closeTestApis, KEY, startTestApi } from "./api-harness.js";

afterEach(closeTestApis);

describe("GET /healthz and /readyz", () => {
  it("/healthz: 200 while the process is alive, without a key", async () => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("/readyz: 200 with listeners up and not draining", async () => {
    const test = await startTestApi();
    test.stats = baseStats({ allocations: 3, totalQuota: 1000, relayPortsFree: 9_994, relayThreadsUp: 2 });
    const response = await fetch(`${test.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true, draining: false, allocations: 3, totalQuota: 1000, relayPortsFree: 9_994, relayThreadsUp: 2 });
  });

  it("/readyz: with redis-url, says whether revocations are shared, and stays ready while they are not", async () => {
    const test = await startTestApi();
    test.stats = baseStats({ sharedRevocations: "down" });
    const response = await fetch(`${test.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ready: true, sharedRevocations: "down" });
  });

  it.each([
    ["draining", { draining: true }, { ready: false, draining: true }],
    ["listeners not up", { listenersUp: false }, { ready: false, draining: false }],
    ["no relay thread runs (each died and was not restarted)", { relayThreadsUp: 0 }, { ready: false, draining: false, relayThreadsUp: 0 }],
  ])("/readyz: 503 when %s", async (_name, stats, expected) => {
    const test = await startTestApi();
    test.stats = baseStats(stats);
    const response = await fetch(`${test.url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject(expected);
  });
});

describe("GET /metrics (Prometheus text format)", () => {
  const stats = baseStats({
    allocations: 7,
    permissions: 11,
    channels: 5,
    allocationsCreated: 101,
    allocationsExpired: 61,
    allocationsDeleted: 33,
    relay: {
      udp: { clientToPeerPackets: 1001, clientToPeerBytes: 64_001, peerToClientPackets: 1002, peerToClientBytes: 64_002 },
      tcp: { clientToPeerPackets: 201, clientToPeerBytes: 12_001, peerToClientPackets: 202, peerToClientBytes: 12_002 },
      tls: { clientToPeerPackets: 31, clientToPeerBytes: 3_001, peerToClientPackets: 32, peerToClientBytes: 3_002 },
    },
    droppedPackets: 17,
    clientMessages: 123_457,
    bindingRequests: 4_242,
    unauthenticatedAnswersDropped: 9_876,
    errorResponses: { 401: 19, 438: 2, 486: 1 },
    relayPortsFree: 16_000,
    bandwidthDroppedPackets: 5,
    maxBps: 125_000,
    bpsCapacity: 12_500_000,
    relayHeapUsedBytes: 23_456_789,
    relayHeapSizeBytes: 34_567_890,
    heapTrims: 5,
    relayThreadsUp: 3,
    relayThreadRestarts: 2,
  });

  it("turnpike_redis_connected: with redis-url only, 1 while shared", async () => {
    const withRedis = await startTestApi({ stats: baseStats({ sharedRevocations: "connecting" }) });
    const lines = async (url: string) => (await (await fetch(`${url}/metrics`)).text()).split("\n");
    expect(await lines(withRedis.url)).toContain("turnpike_redis_connected 0");
    withRedis.stats = baseStats({ sharedRevocations: "ready" });
    expect(await lines(withRedis.url)).toContain("turnpike_redis_connected 1");
    const without = await startTestApi();
    expect((await lines(without.url)).some((line) => line.includes("turnpike_redis_connected"))).toBe(false);
  });

  it("exposes every turnpike metric with the core's values, and the process metrics", async () => {
    const test = await startTestApi();
    test.stats = stats;
    const response = await fetch(`${test.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const samples = [
      "turnpike_allocations 7",
      "turnpike_permissions 11",
      "turnpike_channels 5",
      "turnpike_allocations_created_total 101",
      "turnpike_allocations_expired_total 61",
      "turnpike_allocations_deleted_total 33",
      'turnpike_relayed_packets_total{direction="client_to_peer",transport="udp"} 1001',
      'turnpike_relayed_packets_total{direction="peer_to_client",transport="udp"} 1002',
      'turnpike_relayed_packets_total{direction="client_to_peer",transport="tcp"} 201',
      'turnpike_relayed_packets_total{direction="peer_to_client",transport="tls"} 32',
      'turnpike_relayed_bytes_total{direction="client_to_peer",transport="udp"} 64001',
      'turnpike_relayed_bytes_total{direction="peer_to_client",transport="tcp"} 12002',
      'turnpike_relayed_bytes_total{direction="client_to_peer",transport="tls"} 3001',
      "turnpike_dropped_packets_total 17",
      "turnpike_client_messages_total 123457",
      "turnpike_binding_requests_total 4242",
      "turnpike_unauthenticated_answers_dropped_total 9876",
      'turnpike_error_responses_total{code="401"} 19',
      'turnpike_error_responses_total{code="438"} 2',
      'turnpike_error_responses_total{code="486"} 1',
      "turnpike_relay_ports_free 16000",
      "turnpike_bandwidth_dropped_packets_total 5",
      "turnpike_allocation_bandwidth_limit_bytes_per_second 125000",
      "turnpike_bandwidth_capacity_bytes_per_second 12500000",
      "turnpike_relay_heap_used_bytes 23456789",
      "turnpike_relay_heap_size_bytes 34567890",
      "turnpike_relay_heap_trims_total 5",
      "turnpike_relay_threads_up 3",
      "turnpike_relay_thread_restarts_total 2",
    ];
    for (const sample of samples) expect(text.split("\n")).toContain(sample);
    expect(text).toContain("# TYPE turnpike_allocations gauge");
    expect(text).toContain("# TYPE turnpike_relayed_bytes_total counter");
    expect(text).toContain("# TYPE turnpike_relay_thread_restarts_total counter");
    expect(text).toContain("# TYPE turnpike_unauthenticated_answers_dropped_total counter");
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it("reads the stats at each scrape, with one series per error code present", async () => {
    const test = await startTestApi();
    test.stats = baseStats({ allocations: 1, errorResponses: { 401: 1 } });
    expect(await (await fetch(`${test.url}/metrics`)).text()).toContain("turnpike_allocations 1\n");
    test.stats = baseStats({ allocations: 2, errorResponses: { 441: 4 } });
    const text = await (await fetch(`${test.url}/metrics`)).text();
    expect(text).toContain("turnpike_allocations 2\n");
    expect(text).toContain('turnpike_error_responses_total{code="441"} 4');
    expect(text).not.toContain('code="401"');
  });

  it("counts the endpoint's own responses by route pattern and status code: 200, 401, 429, 404", async () => {
    const test = await startTestApi({ options: { rateLimitPerMinute: 2 } });
    const credentials = (headers: Record<string, string>) => fetch(`${test.url}/api/v1/credentials?username=alice`, { headers });
    expect((await credentials(bearer(KEY))).status).toBe(200);
    expect((await credentials({})).status).toBe(401);
    expect((await credentials(bearer(KEY))).status).toBe(429);
    expect((await fetch(`${test.url}/no/such/path/${"x".repeat(20)}`)).status).toBe(404);
    const lines = (await (await fetch(`${test.url}/metrics`)).text()).split("\n");
    expect(lines).toContain('turnpike_api_responses_total{route="/api/v1/credentials",code="200"} 1');
    expect(lines).toContain('turnpike_api_responses_total{route="/api/v1/credentials",code="401"} 1');
    expect(lines).toContain('turnpike_api_responses_total{route="/api/v1/credentials",code="429"} 1');
    expect(lines).toContain('turnpike_api_responses_total{route="unmatched",code="404"} 1');
    expect(lines.filter((line) => line.startsWith("turnpike_api_responses_total{")).length).toBe(4);
  });

  it("two servers in one process keep their own registries", async () => {
    const first = await startTestApi();
    const second = await startTestApi();
    first.stats = baseStats({ allocations: 5 });
    second.stats = baseStats({ allocations: 6 });
    expect(await (await fetch(`${first.url}/metrics`)).text()).toContain("turnpike_allocations 5\n");
    expect(await (await fetch(`${second.url}/metrics`)).text()).toContain("turnpike_allocations 6\n");
  });
});

describe("unknown routes and methods", () => {
  it.each([
    ["GET", "/nope"],
    ["GET", "/api/v1/credential"],
    ["PUT", "/api/v1/nope"],
    // Not read as route patterns: a parameter, a bad regexp, an unsafe one, a wildcard.
    ["GET", "/:a"],
    ["GET", "/:a("],
    ["POST", "/:a((a+)+)"],
    ["GET", "/api/v1/*"],
  ])("%s %s -> 404 JSON", async (method, path) => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}${path}`, { method, headers: bearer(KEY) });
    expect(response.status).toBe(404);
    expect(response.headers.get("allow")).toBeNull();
    expect(await response.json()).toEqual({ statusCode: 404, error: "Not Found", message: "no such route" });
  });

  it.each([
    ["DELETE", "/api/v1/credentials", "GET, POST"],
    ["PUT", "/api/v1/credentials/revoke", "POST"],
    ["GET", "/api/v1/credentials/revoke", "POST"],
    ["GET", "/api/v1/drain", "POST"],
    ["POST", "/healthz", "GET, HEAD"],
    ["PATCH", "/metrics", "GET"],
    ["PUT", "/heal%74hz", "GET, HEAD"],
    ["DELETE", "/api/v1/%63redentials", "GET, POST"],
  ])("%s %s -> 405 JSON with Allow: %s", async (method, path, allow) => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}${path}?key=${KEY}`, { method, headers: bearer(KEY) });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe(allow);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({ statusCode: 405, error: "Method Not Allowed", message: `method not allowed; use ${allow.replace(/, /g, " or ")}` });
    expect(body).not.toContain(KEY);
  });

  it("a 404 does not echo the query string", async () => {
    const { url } = await startTestApi();
    const text = await (await fetch(`${url}/nope?key=${KEY}`)).text();
    expect(text).not.toContain(KEY);
  });
});

describe("POST /api/v1/drain", () => {
  it("starts draining with the API key (202, with the allocations left)", async () => {
    const test = await startTestApi();
    test.stats = baseStats({ allocations: 7 });
    const response = await fetch(`${test.url}/api/v1/drain`, { method: "POST", headers: bearer(KEY) });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ draining: true, allocations: 7 });
    expect(test.drains).toBe(1);
  });

  it("refuses without the key, and does not drain", async () => {
    const test = await startTestApi();
    expect((await fetch(`${test.url}/api/v1/drain`, { method: "POST" })).status).toBe(401);
    expect((await fetch(`${test.url}/api/v1/drain`, { method: "POST", headers: bearer("wrong") })).status).toBe(401);
    expect(test.drains).toBe(0);
  });
});
