import net from "node:net";
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { ApiStartError, startApiServer } from "../../src/api/api-server.js";
import {
  bearer,
  closeTestApis,
  closedAfter,
  createTestDeps,
  jsonPost,
  KEY,
  OTHER_KEY,
  rawRequest,
  startTestApi,
} from "./api-harness.js";

afterEach(closeTestApis);

describe("API keys (Authorization: Bearer, RFC 6750)", () => {
  it.each([
    ["no Authorization header", undefined, 'Bearer realm="turnpike"'],
    ["a wrong key of the same length", `Bearer ${"x".repeat(KEY.length)}`, 'Bearer realm="turnpike", error="invalid_token"'],
    ["a shorter key", "Bearer k3y", 'Bearer realm="turnpike", error="invalid_token"'],
    ["a longer key", `Bearer ${KEY}${KEY}`, 'Bearer realm="turnpike", error="invalid_token"'],
    ["the key with another scheme", `Basic ${KEY}`, 'Bearer realm="turnpike", error="invalid_token"'],
    ["an empty Bearer token", "Bearer ", 'Bearer realm="turnpike", error="invalid_token"'],
  ])("%s -> 401 with a Bearer challenge", async (_name, authorization, challenge) => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}/api/v1/credentials`, { headers: authorization === undefined ? {} : { authorization } });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(challenge);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ statusCode: 401, error: "Unauthorized" });
    expect(text).not.toContain(KEY);
  });

  it("accepts any configured key, and the scheme in any case", async () => {
    const { url } = await startTestApi({ options: { apiKeys: [KEY, OTHER_KEY] } });
    for (const authorization of [`Bearer ${KEY}`, `bearer ${OTHER_KEY}`, `BEARER ${KEY}`]) {
      expect((await fetch(`${url}/api/v1/credentials`, { headers: { authorization } })).status).toBe(200);
    }
  });

  it("with no key configured and no anonymous access, every request is 401, as the start log says once", async () => {
    const test = await startTestApi({ options: { apiKeys: [] } });
    expect((await fetch(`${test.url}/api/v1/credentials`)).status).toBe(401);
    expect((await fetch(`${test.url}/api/v1/credentials`, { headers: bearer("anything") })).status).toBe(401);
    expect((await fetch(`${test.url}/api/v1/credentials/revoke`, jsonPost({ username: "1:a" }, "anything"))).status).toBe(401);
    const warnings = test.logs.filter((line) => /no API keys configured/.test(String(line["msg"])));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.["level"]).toBe(40);
  });
});

describe("anonymous access (loopback only)", () => {
  it("mints without a key on 127.0.0.1, but still refuses a wrong key", async () => {
    const { url } = await startTestApi({ options: { apiKeys: [], allowAnonymous: true } });
    expect((await fetch(`${url}/api/v1/credentials?username=local`)).status).toBe(200);
    expect((await fetch(`${url}/api/v1/credentials`, { headers: bearer("wrong") })).status).toBe(401);
  });

  it("asks a key of an anonymous request whose Host is not loopback (a page whose name was pointed at 127.0.0.1: DNS rebinding)", async () => {
    const { url } = await startTestApi({ options: { apiKeys: [], allowAnonymous: true } });
    const port = Number(new URL(url).port);
    const statusWithHost = (host: string): Promise<number | undefined> =>
      new Promise((resolve, reject) => {
        const request = http.get({ host: "127.0.0.1", port, path: "/api/v1/credentials?username=local", headers: { host } }, (response) => {
          response.resume();
          resolve(response.statusCode);
        });
        request.setTimeout(5_000, () => request.destroy(new Error("timed out")));
        request.once("error", reject);
      });
    expect(await statusWithHost(`attacker.example:${port}`)).toBe(401);
    expect(await statusWithHost(`127.0.0.1:${port}`)).toBe(200);
    expect(await statusWithHost(`localhost:${port}`)).toBe(200);
    expect(await statusWithHost("[::1]")).toBe(200);
  });

  it("mints without a key on ::1", async () => {
    const { deps } = createTestDeps({ options: { listeningIp: "::1", apiKeys: [], allowAnonymous: true } });
    const api = await startApiServer(deps);
    try {
      expect(api.address).toBe("::1");
      expect((await fetch(`http://[::1]:${api.port}/api/v1/credentials`)).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it.each(["0.0.0.0", "::", "192.0.2.1", "::ffff:192.0.2.1", "localhost"])(
    "refuses to start on %s with a one-line ApiStartError, before binding",
    async (listeningIp) => {
      const { deps } = createTestDeps({ options: { listeningIp, apiKeys: [], allowAnonymous: true } });
      const error: unknown = await startApiServer(deps).then(
        (api) => api.close(),
        (rejection: unknown) => rejection,
      );
      expect(error).toBeInstanceOf(ApiStartError);
      expect((error as Error).message).toMatch(/^refusing anonymous API access on .*loopback[^\n]*$/);
    },
  );
});

describe("anonymous access from web pages (cross-site request forgery)", () => {
  const LISTED = "https://app.example.com";
  const crossSite = { origin: "https://evil.example", "sec-fetch-site": "cross-site" };

  it("refuses with 403 a cross-site POST /api/v1/drain without a body or key, as a page's no-cors fetch sends it; nothing drains", async () => {
    const test = await startTestApi({ options: { apiKeys: [], allowAnonymous: true } });
    const response = await rawRequest(`${test.url}/api/v1/drain`, { method: "POST", headers: { ...crossSite, "content-length": "0" } });
    expect(response.status).toBe(403);
    expect(JSON.parse(response.text)).toMatchObject({ statusCode: 403, error: "Forbidden", message: expect.stringMatching(/another site/) });
    expect(test.drains).toBe(0);
  });

  it.each([
    ["Origin not listed in api-cors-origin", { origin: "https://evil.example" }],
    ["Origin: null (a sandboxed frame)", { origin: "null" }],
    ["Sec-Fetch-Site: cross-site, no Origin (an <img> GET)", { "sec-fetch-site": "cross-site" }],
    ["Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }],
  ])("refuses minting, revoking and draining with %s", async (_name, headers) => {
    const test = await startTestApi({ options: { apiKeys: [], allowAnonymous: true, corsOrigins: [LISTED] } });
    const mint = await rawRequest(`${test.url}/api/v1/credentials?username=local`, { headers });
    expect(mint.status).toBe(403);
    expect(mint.text).not.toMatch(/password/);
    const mintPost = await rawRequest(`${test.url}/api/v1/credentials`, { method: "POST", headers });
    expect(mintPost.status).toBe(403);
    const draft = await rawRequest(`${test.url}/?service=turn&username=local`, { headers });
    expect(draft.status).toBe(403);
    const draftForm = await rawRequest(`${test.url}/`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
      body: "service=turn&username=local",
    });
    expect(draftForm.status).toBe(403);
    const revoke = await rawRequest(`${test.url}/api/v1/credentials/revoke`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ username: "1700000000:alice" }),
    });
    expect(revoke.status).toBe(403);
    const drain = await rawRequest(`${test.url}/api/v1/drain`, { method: "POST", headers });
    expect(drain.status).toBe(403);
    expect(test.revoked).toEqual([]);
    expect(test.drains).toBe(0);
  });

  it.each([
    ["no Origin or Sec-Fetch-Site (curl, a backend)", {}],
    ["Sec-Fetch-Site: none (typed in the address bar)", { "sec-fetch-site": "none" }],
    ["Sec-Fetch-Site: same-origin", { "sec-fetch-site": "same-origin" }],
    ["an Origin listed in api-cors-origin, cross-site", { origin: LISTED, "sec-fetch-site": "cross-site" }],
  ])("still serves %s", async (_name, headers) => {
    const test = await startTestApi({ options: { apiKeys: [], allowAnonymous: true, corsOrigins: [LISTED] } });
    expect((await rawRequest(`${test.url}/api/v1/credentials?username=local`, { headers })).status).toBe(200);
    expect((await rawRequest(`${test.url}/api/v1/drain`, { method: "POST", headers })).status).toBe(202);
  });

  it("does not look at Origin or Sec-Fetch-Site when a valid key is given", async () => {
    const test = await startTestApi({ options: { allowAnonymous: true } });
    const response = await rawRequest(`${test.url}/api/v1/credentials?username=local`, { headers: { ...crossSite, ...bearer(KEY) } });
    expect(response.status).toBe(200);
  });
});

describe("rate limiting: token buckets per client address and per key", () => {
  const N = 3;
  const credentials = (url: string, from: string, key = KEY) =>
    rawRequest(`${url}/api/v1/credentials`, { headers: bearer(key), localAddress: from });

  it("allows N requests a minute from one address, then 429 with Retry-After; other addresses are unaffected", async () => {
    const test = await startTestApi({ options: { rateLimitPerMinute: N, apiKeys: [KEY, OTHER_KEY] } });
    for (let i = 0; i < N; i++) expect((await credentials(test.url, "127.0.0.1")).status).toBe(200);
    const limited = await credentials(test.url, "127.0.0.1", OTHER_KEY);
    expect(limited.status).toBe(429);
    // One token comes back every 60/N = 20 seconds.
    expect(limited.headers["retry-after"]).toBe("20");
    expect(JSON.parse(limited.text)).toMatchObject({ statusCode: 429 });
    expect((await credentials(test.url, "127.0.0.2", OTHER_KEY)).status).toBe(200);

    test.clock.advance(19_000);
    expect((await credentials(test.url, "127.0.0.1", OTHER_KEY)).headers["retry-after"]).toBe("1");
    test.clock.advance(1_000);
    expect((await credentials(test.url, "127.0.0.1", OTHER_KEY)).status).toBe(200);
    expect((await credentials(test.url, "127.0.0.1", OTHER_KEY)).status).toBe(429);
  });

  it("allows N requests a minute with one key from any address; another key is unaffected", async () => {
    const test = await startTestApi({ options: { rateLimitPerMinute: N, apiKeys: [KEY, OTHER_KEY] } });
    for (let i = 0; i < N; i++) expect((await credentials(test.url, `127.0.0.${10 + i}`)).status).toBe(200);
    const limited = await credentials(test.url, "127.0.0.20");
    expect(limited.status).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect((await credentials(test.url, "127.0.0.20", OTHER_KEY)).status).toBe(200);
    test.clock.advance(60_000);
    for (let i = 0; i < N; i++) expect((await credentials(test.url, `127.0.0.${30 + i}`)).status).toBe(200);
  });

  it("keeps a key's allowance with the key across a reload that reorders the keys", async () => {
    const test = await startTestApi({ options: { rateLimitPerMinute: N, apiKeys: [KEY, OTHER_KEY] } });
    for (let i = 0; i < N; i++) expect((await credentials(test.url, `127.0.0.${10 + i}`)).status).toBe(200);
    expect((await credentials(test.url, "127.0.0.20")).status).toBe(429);
    test.api.setApiKeys([OTHER_KEY, KEY]);
    expect((await credentials(test.url, "127.0.0.21")).status).toBe(429);
    for (let i = 0; i < N; i++) expect((await credentials(test.url, `127.0.0.${30 + i}`, OTHER_KEY)).status).toBe(200);
  });

  it("counts wrong keys against the address, and revocations too", async () => {
    const test = await startTestApi({ options: { rateLimitPerMinute: N } });
    for (let i = 0; i < N; i++) {
      expect((await rawRequest(`${test.url}/api/v1/credentials`, { headers: bearer("guess") })).status).toBe(401);
    }
    expect((await fetch(`${test.url}/api/v1/credentials`, { headers: bearer(KEY) })).status).toBe(429);
    expect((await fetch(`${test.url}/api/v1/credentials/revoke`, jsonPost({ username: "1:a" }))).status).toBe(429);
    expect(test.revoked).toEqual([]);
  });

  it("does not limit /healthz, /readyz or /metrics", async () => {
    const test = await startTestApi({ options: { rateLimitPerMinute: 1 } });
    for (let i = 0; i < 3; i++) {
      for (const path of ["/healthz", "/readyz", "/metrics"]) expect((await fetch(`${test.url}${path}`)).status).toBe(200);
    }
  });
});

describe("CORS (off unless origins are listed)", () => {
  const ORIGIN = "https://app.example.com";

  it("is off by default: no CORS headers, no preflight route", async () => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}/api/v1/credentials`, { headers: { origin: ORIGIN, ...bearer(KEY) } });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await fetch(`${url}/api/v1/credentials`, { method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "GET" } });
    expect(preflight.status).toBe(405);
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    expect(preflight.headers.get("access-control-allow-methods")).toBeNull();
  });

  it("echoes a listed origin exactly, with Vary: Origin, on answers and on errors", async () => {
    const { url } = await startTestApi({ options: { corsOrigins: [ORIGIN] } });
    const ok = await fetch(`${url}/api/v1/credentials`, { headers: { origin: ORIGIN, ...bearer(KEY) } });
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(ok.headers.get("vary")).toMatch(/Origin/);
    const denied = await fetch(`${url}/api/v1/credentials`, { headers: { origin: ORIGIN } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });

  it.each(["https://evil.example.com", "https://app.example.com.evil.example", "http://app.example.com", "null"])(
    "does not allow %s",
    async (origin) => {
      const { url } = await startTestApi({ options: { corsOrigins: [ORIGIN] } });
      const response = await fetch(`${url}/api/v1/credentials`, { headers: { origin, ...bearer(KEY) } });
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
      expect(response.headers.get("vary")).toMatch(/Origin/);
      const preflight = await fetch(`${url}/api/v1/credentials`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
      });
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
      expect(preflight.headers.get("access-control-allow-headers")).toBeNull();
    },
  );

  it("answers the preflight of a listed origin: GET, POST, Authorization, Content-Type", async () => {
    const { url } = await startTestApi({ options: { corsOrigins: ["https://other.example", ORIGIN] } });
    const preflight = await fetch(`${url}/api/v1/credentials`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(preflight.headers.get("access-control-allow-methods")).toBe("GET, POST");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("Authorization, Content-Type");
    expect(preflight.headers.get("vary")).toMatch(/Origin/);
  });
});

describe("slow requests", () => {
  /** Milliseconds until the endpoint closes a connection that sends `head`, then `drip` every 300 ms. */
  async function closedWhileDripping(head: string, drip: string): Promise<number> {
    const { url } = await startTestApi({ internals: { requestTimeoutMs: 1_000 } });
    const socket = net.connect({ host: "127.0.0.1", port: Number(new URL(url).port) });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    socket.on("error", () => {});
    const started = Date.now();
    socket.write(head);
    const timer = setInterval(() => socket.write(drip), 300);
    try {
      return await closedAfter(socket, started);
    } finally {
      clearInterval(timer);
      socket.destroy();
    }
  }

  it("closes a connection whose headers drip in past the request timeout within a second or so of it, not at Node's 30 s check", async () => {
    // A header every 300 ms: never idle long enough for an idle timeout, never a whole request.
    const closedMs = await closedWhileDripping("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-Slow: 1\r\n");
    expect(closedMs).toBeGreaterThanOrEqual(900);
    expect(closedMs).toBeLessThan(4_000);
  });

  it("closes a connection whose body drips in past the request timeout within a second or so of it, not at Node's 60 s headers timeout", async () => {
    // The headers are whole, the request never is: a byte of body every 300 ms.
    const head = `POST /api/v1/credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n`;
    const closedMs = await closedWhileDripping(head, " ");
    expect(closedMs).toBeGreaterThanOrEqual(900);
    expect(closedMs).toBeLessThan(4_000);
  });
});

describe("closing", () => {
  it("does not wait for a client that stalls halfway through its request (its request timeout is far off)", async () => {
    const { api, url } = await startTestApi({ internals: { requestTimeoutMs: 120_000 } });
    const socket = net.connect({ host: "127.0.0.1", port: Number(new URL(url).port) });
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const socketClosed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.resume();
    socket.write("POST /api/v1/credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"ttl");
    // The server has the partial request before it is told to close.
    await new Promise((resolve) => setTimeout(resolve, 100));
    try {
      await api.close();
      await socketClosed;
      expect(socket.closed).toBe(true);
    } finally {
      socket.destroy();
    }
  }, 8_000);
});

describe("connections held at once", () => {
  const open = async (port: number, localAddress = "127.0.0.1"): Promise<net.Socket> => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    return socket;
  };
  // The server may close a socket before the test gets to watch it: `closed` is then already true.
  const closed = (socket: net.Socket, withinMs = 3_000): Promise<boolean> =>
    new Promise((resolve) => {
      if (socket.closed) return resolve(true);
      socket.once("close", () => resolve(true));
      setTimeout(() => resolve(false), withinMs).unref();
    });

  it("closes connections past the cap at once, says so in one warn line, and serves again when one frees", async () => {
    const test = await startTestApi({ internals: { maxConnections: 2 } });
    const port = Number(new URL(test.url).port);
    const idle = [await open(port), await open(port)];
    try {
      const extra = [await open(port), await open(port)];
      expect(await Promise.all(extra.map((socket) => closed(socket)))).toEqual([true, true]);
      const warnings = test.logs.filter((line) => line.msg === "api connections at their limit: new ones are closed at once");
      expect(warnings.length).toBe(1);
      expect(warnings[0]).toMatchObject({ level: 40, maxConnections: 2, droppedSoFar: 1 });
      idle.pop()!.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await rawRequest(`${test.url}/healthz`)).status).toBe(200);
    } finally {
      for (const socket of idle) socket.destroy();
    }
  });

  it("closes at once what one address opens past its share, says so once, and still serves other addresses", async () => {
    // Loopback clients are exempt by default; here 127.0.0.1 and 127.0.0.2 stand for two remote clients.
    const test = await startTestApi({ internals: { maxConnectionsPerAddress: 2, perAddressExempt: () => false } });
    const port = Number(new URL(test.url).port);
    const idle = [await open(port), await open(port)];
    try {
      const extra = [await open(port), await open(port)];
      expect(await Promise.all(extra.map((socket) => closed(socket)))).toEqual([true, true]);
      const warnings = test.logs.filter((line) => line.msg === "api connections from one address at their limit: its new ones are closed at once");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 40, client: "127.0.0.1", maxConnectionsPerAddress: 2, droppedSoFar: 1 });
      expect((await rawRequest(`${test.url}/healthz`, { localAddress: "127.0.0.2" })).status).toBe(200);
      idle.pop()!.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await rawRequest(`${test.url}/healthz`)).status).toBe(200);
    } finally {
      for (const socket of idle) socket.destroy();
    }
  });

  it("does not cap loopback clients (this host's own, or a reverse proxy that serves every client from loopback)", async () => {
    const test = await startTestApi({ internals: { maxConnectionsPerAddress: 2 } });
    const port = Number(new URL(test.url).port);
    const idle = [await open(port), await open(port), await open(port)];
    try {
      expect(await closed(idle[2]!, 300)).toBe(false);
      expect((await rawRequest(`${test.url}/healthz`)).status).toBe(200);
    } finally {
      for (const socket of idle) socket.destroy();
    }
  });
});
