import { readFileSync } from "node:fs";
import { connect, createServer, type AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ApiStartError, startApiServer } from "../../src/api/api-server.js";
import { makeSelfSignedCertificate, type TestCertificate } from "../helpers/tls-cert.js";
import { bearer, closedAfter, closeTestApis, createTestDeps, KEY, rawRequest, startTestApi } from "./api-harness.js";

afterEach(closeTestApis);

describe("HTTPS when options.tls is set", () => {
  let certificate: TestCertificate;
  beforeAll(() => {
    certificate = makeSelfSignedCertificate();
  });
  afterAll(() => certificate.remove());

  it("serves the same routes over TLS with the configured certificate", async () => {
    const tls = { cert: certificate.cert, key: readFileSync(certificate.keyPath) };
    const { url } = await startTestApi({ options: { tls } });
    expect(url.startsWith("https://")).toBe(true);
    const response = await rawRequest(`${url}/api/v1/credentials?username=tls`, { headers: bearer(KEY), ca: certificate.cert });
    expect(response.status).toBe(200);
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(JSON.parse(response.text)).toMatchObject({ username: expect.stringMatching(/^\d+:tls$/) });
    expect((await rawRequest(`${url}/healthz`, { ca: certificate.cert })).status).toBe(200);
  });

  it("an untrusted client refuses the self-signed certificate (it is really TLS)", async () => {
    const tls = { cert: certificate.cert, key: readFileSync(certificate.keyPath) };
    const { url } = await startTestApi({ options: { tls } });
    await expect(rawRequest(`${url}/healthz`)).rejects.toThrow(/self-signed|self signed/);
  });

  it("closes a connection that never starts its TLS handshake at the request timeout, not TLS's 120 s", async () => {
    const tls = { cert: certificate.cert, key: readFileSync(certificate.keyPath) };
    const { url } = await startTestApi({ options: { tls }, internals: { requestTimeoutMs: 1_000 } });
    const socket = connect({ host: "127.0.0.1", port: Number(new URL(url).port) });
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const started = Date.now();
    try {
      const closedMs = await closedAfter(socket, started);
      expect(closedMs).toBeGreaterThanOrEqual(900);
      expect(closedMs).toBeLessThan(4_000);
    } finally {
      socket.destroy();
    }
  });

  it("caps connections per address over TLS too, before any handshake, and goes on serving", async () => {
    const tls = { cert: certificate.cert, key: readFileSync(certificate.keyPath) };
    const test = await startTestApi({ options: { tls }, internals: { maxConnectionsPerAddress: 1, perAddressExempt: () => false } });
    const { url } = test;
    const held = connect({ host: "127.0.0.1", port: Number(new URL(url).port) });
    held.on("error", () => {});
    await new Promise<void>((resolve, reject) => held.once("connect", resolve).once("error", reject));
    try {
      await expect(rawRequest(`${url}/healthz`, { ca: certificate.cert })).rejects.toThrow();
      expect(test.logs.filter((line) => line.msg === "api connections from one address at their limit: its new ones are closed at once")).toHaveLength(1);
      expect((await rawRequest(`${url}/healthz`, { ca: certificate.cert, localAddress: "127.0.0.2" })).status).toBe(200);
    } finally {
      held.destroy();
    }
  });

  it("a key that is not PEM is an ApiStartError", async () => {
    const { deps } = createTestDeps({ options: { tls: { cert: certificate.cert, key: Buffer.from("not a key") } } });
    const started = startApiServer(deps);
    await expect(started).rejects.toBeInstanceOf(ApiStartError);
    await expect(started).rejects.toThrow(/^cannot start the API endpoint on https 127\.0\.0\.1:0: the TLS certificate or key was refused: /);
  });
});

describe("start errors are one line for the operator", () => {
  it("a port in use", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const port = (holder.address() as AddressInfo).port;
      const { deps } = createTestDeps({ options: { listeningPort: port } });
      const started = startApiServer(deps);
      await expect(started).rejects.toBeInstanceOf(ApiStartError);
      await expect(started).rejects.toThrow(`cannot listen on http 127.0.0.1:${port}: address already in use`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it("an address this host does not have", async () => {
    const { deps } = createTestDeps({ options: { listeningIp: "192.0.2.1" } });
    await expect(startApiServer(deps)).rejects.toThrow(/^cannot listen on http 192\.0\.2\.1:0: address not available on this host$/);
  });

  it.each([
    ["an empty key", { apiKeys: [""] }],
    ["ttl 0", { defaultTtlSeconds: 0 }],
    ["a fractional maximum ttl", { maxTtlSeconds: 1.5 }],
    ["a negative rate limit", { rateLimitPerMinute: -1 }],
  ])("%s", async (_name, options) => {
    const { deps } = createTestDeps({ options });
    await expect(startApiServer(deps)).rejects.toBeInstanceOf(ApiStartError);
  });

  it("rate limit 0 turns the limiter off", async () => {
    const { url } = await startTestApi({ options: { rateLimitPerMinute: 0 } });
    for (let i = 0; i < 5; i++) expect((await fetch(`${url}/api/v1/credentials`, { headers: bearer(KEY) })).status).toBe(200);
  });
});
