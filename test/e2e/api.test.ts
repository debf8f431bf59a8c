import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import { getAttribute } from "../../src/stun/attributes/registry.js";
import { Method, MessageClass } from "../../src/stun/constants.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { freePort, runBounded, startProcess, waitForUdpEcho } from "../helpers/processes.js";
import { errorCode } from "../helpers/turn-messages.js";
import { SocketTurnClient, startEchoPeer } from "../helpers/turn-socket-client.js";
import { makeSelfSignedCertificate } from "../helpers/tls-cert.js";
import { settled, until } from "../helpers/until.js";

const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;
const SECRET = "north-secret";
const KEY = "test-api-key-0123456789";

interface CredentialAnswer {
  username: string;
  password: string;
  ttl: number;
  uris: string[];
  iceServers: { urls: string[]; username: string; credential: string }[];
}

describe("the credential endpoint drives a live TURN server", () => {
  const logger = createRecordingLogger();
  let server: RunningServer;
  let base: string;
  const udpAt = () => ({ address: "127.0.0.1", port: server.listeners.find((l) => l.transport === "udp")!.port });
  const tcpAt = () => ({ address: "127.0.0.1", port: server.listeners.find((l) => l.transport === "tcp")!.port });

  const mint = async (username: string, key = KEY): Promise<Response> =>
    fetch(`${base}/api/v1/credentials?username=${encodeURIComponent(username)}&ttl=600`, { headers: { Authorization: `Bearer ${key}` } });
  const credentialsOf = (answer: CredentialAnswer) => ({ username: answer.username, password: answer.password, realm: "example.org" });

  beforeAll(async () => {
    server = await startServer(
      configFromObject({
        listeningIps: ["127.0.0.1"],
        listeningPort: 0,
        apiListeningPort: 0,
        apiKeys: [KEY],
        realm: "example.org",
        useAuthSecret: true,
        staticAuthSecrets: [SECRET],
        allowLoopbackPeers: true,
        rfc5766ChannelNumbers: true,
      }),
      { logger },
    );
    base = `http://127.0.0.1:${server.api!.port}`;
  });

  afterAll(async () => {
    await server?.close();
    expect(logger.errors()).toEqual([]);
    expect(logger.text()).not.toContain(KEY);
    expect(logger.text()).not.toContain(SECRET);
  });

  it("mints a REST credential whose iceServers name this server, and TURN accepts it", async () => {
    const response = await mint("alice");
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const answer = (await response.json()) as CredentialAnswer;
    expect(answer.username).toMatch(/^\d{10}:alice$/);
    expect(answer.password).toBe(createHmac("sha1", SECRET).update(answer.username).digest("base64"));
    expect(answer.iceServers[0]!.urls).toEqual([
      `stun:127.0.0.1:${udpAt().port}`,
      `turn:127.0.0.1:${udpAt().port}?transport=udp`,
      `turn:127.0.0.1:${tcpAt().port}?transport=tcp`,
    ]);
    const client = await SocketTurnClient.udp(udpAt(), credentialsOf(answer));
    expect((await client.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
    client.close();
  });

  it("refuses to mint without the API key", async () => {
    expect((await fetch(`${base}/api/v1/credentials?username=alice`)).status).toBe(401);
    expect((await mint("alice", "wrong-key")).status).toBe(401);
  });

  it("lets coturn's turnutils_uclient relay with a credential minted by the endpoint", async () => {
    const answer = (await (await mint("uclient")).json()) as CredentialAnswer;
    const peerPort = await freePort();
    const peer = startProcess("turnutils_peer", ["-p", String(peerPort), "-L", "127.0.0.1"]);
    try {
      await waitForUdpEcho(peerPort);
      const { stdout } = await runBounded(
        "turnutils_uclient",
        ["-u", answer.username, "-w", answer.password, "-p", String(udpAt().port), "-e", "127.0.0.1", "-r", String(peerPort), "-n", "30", "-m", "2", "-l", "100", "-z", "5", "-c", "127.0.0.1"],
        40_000,
      );
      expect(stdout).toMatch(/tot_send_msgs=60, tot_recv_msgs=60\s*$/m);
      expect(stdout).toMatch(/Total lost packets 0 /);
    } finally {
      await peer.stop();
    }
  });

  it("revokes a credential: its live allocation ends within a second and new requests get 401; others are untouched", async () => {
    const revoked = (await (await mint("mallory")).json()) as CredentialAnswer;
    const kept = (await (await mint("carol")).json()) as CredentialAnswer;
    const victim = await SocketTurnClient.stream("tcp", tcpAt(), credentialsOf(revoked));
    const bystander = await SocketTurnClient.udp(udpAt(), credentialsOf(kept));
    await victim.request(Method.Allocate, [UDP]);
    await bystander.request(Method.Allocate, [UDP]);
    // The relay threads report their figures four times a second: the count once it has held for 600 ms.
    const before = await settled(() => server.stats().allocations);

    const response = await fetch(`${base}/api/v1/credentials/revoke`, {
      method: "POST",
      headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ username: revoked.username }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ revoked: revoked.username, allocationsEnded: 1 });
    expect(await until(() => server.stats().allocations === before - 1, 1000)).toBe(true);

    const again = await SocketTurnClient.udp(udpAt(), credentialsOf(revoked));
    expect(errorCode(await again.request(Method.Allocate, [UDP]))).toBe(401);
    expect((await bystander.request(Method.Refresh)).messageClass).toBe(MessageClass.SuccessResponse);
    for (const c of [victim, bystander, again]) c.close();
  });

  it("never lets a peer reach the API port, even with allow-loopback-peers (RFC 8656 §21.3)", async () => {
    const answer = (await (await mint("probe")).json()) as CredentialAnswer;
    const client = await SocketTurnClient.udp(udpAt(), credentialsOf(answer));
    await client.request(Method.Allocate, [UDP]);
    const apiPeer = { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "127.0.0.1", port: server.api!.port } } as const;
    expect(errorCode(await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, apiPeer]))).toBe(403);
    client.close();
  });

  it("reports readiness and Prometheus metrics that follow the traffic", async () => {
    const peer = await startEchoPeer();
    const answer = (await (await mint("metrics")).json()) as CredentialAnswer;
    const client = await SocketTurnClient.udp(udpAt(), credentialsOf(answer));
    try {
      await client.request(Method.Allocate, [UDP]);
      const peerAddress = { family: "IPv4", address: "127.0.0.1", port: peer.port } as const;
      await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4002 }, { name: "XOR-PEER-ADDRESS", value: peerAddress }]);
      const frame = Buffer.alloc(4 + 8);
      frame.writeUInt16BE(0x4002, 0);
      frame.writeUInt16BE(8, 2);
      client.send(frame);
      expect(await client.next((f) => f[0] === 0x40)).toBeDefined();
      // The relay threads report a few times a second.
      expect(await until(() => server.stats().channels >= 1 && server.stats().relay.udp.peerToClientBytes >= 8, 2000)).toBe(true);

      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { ready: boolean; allocations: number; totalQuota: number; relayPortsFree: number; relayThreadsUp: number };
      expect(body.ready).toBe(true);
      expect(body.relayThreadsUp).toBe(server.stats().relayThreadsUp);
      expect(body.relayThreadsUp).toBeGreaterThanOrEqual(1);
      expect(body.allocations).toBeGreaterThanOrEqual(1);
      expect(body.relayPortsFree).toBeGreaterThan(0);

      const metrics = await (await fetch(`${base}/metrics`)).text();
      const value = (pattern: RegExp): number => Number(pattern.exec(metrics)?.[1] ?? Number.NaN);
      expect(value(/^turnpike_allocations (\d+)/m)).toBeGreaterThanOrEqual(1);
      expect(value(/^turnpike_allocations_created_total (\d+)/m)).toBeGreaterThanOrEqual(4);
      expect(value(/^turnpike_channels (\d+)/m)).toBeGreaterThanOrEqual(1);
      expect(value(/^turnpike_relayed_packets_total\{direction="client_to_peer",transport="udp"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
      expect(value(/^turnpike_relayed_bytes_total\{direction="peer_to_client",transport="udp"\} (\d+)/m)).toBeGreaterThanOrEqual(8);
      expect(value(/^turnpike_error_responses_total\{code="401"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
      expect(metrics).toMatch(/^process_cpu_user_seconds_total/m);
      // Two relay threads by default: their heaps, not the main thread's, hold the relay state.
      expect(value(/^turnpike_relay_heap_used_bytes (\d+)/m)).toBeGreaterThan(1_000_000);
    } finally {
      client.close();
      await peer.close();
    }
  });

  it("answers Binding on the stun: URI it hands out, without credentials", async () => {
    const client = await SocketTurnClient.udp(udpAt(), { username: "x", password: "y", realm: "example.org" });
    const response = await client.request(Method.Binding);
    expect(getAttribute(response, "XOR-MAPPED-ADDRESS")?.port).toBe(client.localPort);
    client.close();
  });
});

describe("a reload and the credential endpoint", () => {
  it("rotates the API keys and the credential TTLs, and names in a warning the options it cannot change", async () => {
    const OLD_KEY = "old-api-key-0123456789";
    const NEW_KEY = "new-api-key-0123456789";
    const logger = createRecordingLogger();
    const settings = {
      listeningIps: ["127.0.0.1"],
      listeningPort: 0,
      apiListeningPort: 0,
      realm: "example.org",
      useAuthSecret: true,
      staticAuthSecrets: [SECRET],
      relayThreads: 1,
    };
    const server = await startServer(configFromObject({ ...settings, apiKeys: [OLD_KEY] }), { logger });
    try {
      const mint = (key: string, ttl?: number): Promise<Response> =>
        fetch(`http://127.0.0.1:${server.api!.port}/api/v1/credentials?username=alice${ttl === undefined ? "" : `&ttl=${ttl}`}`, {
          headers: { Authorization: `Bearer ${key}` },
        });
      expect((await mint(OLD_KEY)).status).toBe(200);
      expect((await mint(NEW_KEY)).status).toBe(401);

      const next = configFromObject({ ...settings, apiKeys: [NEW_KEY], restDefaultTtlSeconds: 120, restMaxTtlSeconds: 300, minPort: 50000, apiRateLimitPerMinute: 30 });
      await server.reload(next);
      expect((await mint(OLD_KEY)).status).toBe(401);
      const minted = await mint(NEW_KEY);
      expect(minted.status).toBe(200);
      expect(((await minted.json()) as CredentialAnswer).ttl).toBe(120);
      expect(((await (await mint(NEW_KEY, 3600)).json()) as CredentialAnswer).ttl).toBe(300);

      // The same file again: still not in force, still named.
      await server.reload(next);
      const kept = logger.records.filter((r) => r.msg === "these options changed and are kept as they were until a restart");
      expect(kept.map((r) => r.obj["options"])).toEqual([
        ["min-port", "api-rate-limit"],
        ["min-port", "api-rate-limit"],
      ]);
      expect(logger.text()).not.toContain(NEW_KEY);
    } finally {
      await server.close();
    }
  });
});

describe("turns: URIs on an IP address", () => {
  it("warns at start that a certificate rarely covers the IP the URIs name, and not once rest-uri-host names the host", async () => {
    const certificate = makeSelfSignedCertificate();
    try {
      const warned = async (extra: { restUriHost?: string }): Promise<boolean> => {
        const logger = createRecordingLogger();
        const server = await startServer(
          configFromObject({ listeningIps: ["127.0.0.1"], listeningPort: 0, tlsListeningPort: 0, apiListeningPort: 0, apiKeys: [KEY], cert: certificate.certPath, pkey: certificate.keyPath, ...extra }),
          { logger },
        );
        await server.close();
        return logger.records.some((record) => record.level === "warn" && record.msg.startsWith("the endpoint's turns: URIs name an IP address"));
      };
      expect(await warned({})).toBe(true);
      expect(await warned({ restUriHost: "localhost" })).toBe(false);
    } finally {
      certificate.remove();
    }
  });
});

describe("no-api", () => {
  it("starts without reading api-cert or api-pkey, and serves no endpoint", async () => {
    const server = await startServer(
      configFromObject({ noApi: true, listeningIps: ["127.0.0.1"], listeningPort: 0, users: ["u:p"], relayThreads: 1, apiCert: "/nonexistent/api-cert.pem", apiPkey: "/nonexistent/api-key.pem" }),
      { logger: createRecordingLogger(), inProcess: true },
    );
    try {
      expect(server.api).toBeUndefined();
      expect(server.listeners.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
