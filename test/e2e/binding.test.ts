import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { promisify } from "node:util";
import stun from "stun";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import type { Config } from "../../src/config/config.js";
import { MessageClass, Method } from "../../src/stun/constants.js";
import { getAttribute, hasAttribute } from "../../src/stun/attributes/registry.js";
import { decodeMessage, encodeMessage } from "../../src/stun/message.js";
import { startServer, StartupError, type ListenerInfo, type RunningServer } from "../../src/server/server.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { readStream, StreamReader, udpExchange } from "../helpers/sockets.js";
import { makeSelfSignedCertificate, type TestCertificate } from "../helpers/tls-cert.js";

const run = promisify(execFile);
const { constants } = stun;

function bindingRequest(withFingerprint: boolean): Buffer {
  const request = stun.createMessage(constants.STUN_BINDING_REQUEST);
  if (withFingerprint) request.addFingerprint();
  return stun.encode(request);
}

function readStunFromStream(socket: net.Socket): Promise<Buffer> {
  return new StreamReader(socket).readStun();
}

/**
 * ERROR-CODE read straight from the wire (RFC 8489 §14.8: class * 100 + number). The npm stun
 * package decodes it as class * (number + 100), so 420 would read as 480.
 */
function errorCodeOf(bytes: Buffer): number | undefined {
  for (let offset = 20; offset + 4 <= bytes.length; ) {
    const type = bytes.readUInt16BE(offset);
    const length = bytes.readUInt16BE(offset + 2);
    if (type === 0x0009) return (bytes[offset + 6]! & 0x07) * 100 + bytes[offset + 7]!;
    offset += 4 + ((length + 3) & ~3);
  }
  return undefined;
}

function streamConnected(socket: net.Socket, event: "connect" | "secureConnect"): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once(event, () => resolve());
    socket.once("error", reject);
  });
}

describe("Binding over real sockets (RFC 8489 §7.3.1)", () => {
  const logger = createRecordingLogger();
  let certificate: TestCertificate;
  let server: RunningServer;
  const listener = (transport: ListenerInfo["transport"], family: ListenerInfo["family"]): ListenerInfo => {
    const found = server.listeners.find((l) => l.transport === transport && l.family === family);
    if (!found) throw new Error(`no ${transport} ${family} listener`);
    return found;
  };

  beforeAll(async () => {
    certificate = makeSelfSignedCertificate();
    const config = configFromObject({
      noApi: true,
      listeningIps: ["127.0.0.1", "::1"],
      listeningPort: 0,
      tlsListeningPort: 0,
      cert: certificate.certPath,
      pkey: certificate.keyPath,
    });
    server = await startServer(config, { logger });
  });

  afterAll(async () => {
    await server?.close();
    certificate?.remove();
    expect(logger.errors()).toEqual([]);
  });

  it("opens UDP, TCP and TLS listeners on each listening-ip", () => {
    const kinds = server.listeners.map((l) => `${l.transport} ${l.address}`).sort();
    expect(kinds).toEqual(["tcp 127.0.0.1", "tcp ::1", "tls 127.0.0.1", "tls ::1", "udp 127.0.0.1", "udp ::1"]);
  });

  it.each([
    ["IPv4", "127.0.0.1"],
    ["IPv6", "::1"],
  ] as const)("coturn's turnutils_stunclient reads its UDP reflexive address over %s", async (family, host) => {
    const { port } = listener("udp", family);
    const { stdout } = await run("turnutils_stunclient", ["-p", String(port), host], { timeout: 10_000 });
    const match = /UDP reflexive addr: (.+):(\d+)/.exec(stdout);
    expect(match, stdout).not.toBeNull();
    expect(match![1]).toBe(host);
    expect(Number(match![2])).toBeGreaterThan(0);
    expect(Number(match![2])).not.toBe(port);
  });

  it.each([
    ["IPv4", "127.0.0.1", 32],
    ["IPv6", "::1", 44],
  ] as const)("the npm stun client gets its exact mapped address over UDP %s, with XOR-MAPPED-ADDRESS only", async (family, host, size) => {
    const { answer, localPort } = await udpExchange(bindingRequest(false), { address: host, port: listener("udp", family).port });
    expect(answer).toBeDefined();
    const response = stun.decode(answer!);
    expect(response.type).toBe(constants.STUN_BINDING_RESPONSE);
    expect(response.getXorAddress()).toEqual({ family, address: host, port: localPort });
    // No SOFTWARE, no MAPPED-ADDRESS, no FINGERPRINT unless asked: the answer is barely larger than the question.
    expect(answer!.length).toBe(size);
  });

  it("adds FINGERPRINT when the request carried one (RFC 8489 §14.7)", async () => {
    const { answer } = await udpExchange(bindingRequest(true), { address: "127.0.0.1", port: listener("udp", "IPv4").port });
    expect(answer).toBeDefined();
    expect(answer!.length).toBe(40);
    expect(stun.validateFingerprint(stun.decode(answer!))).toBe(true);
  });

  it.each([
    ["IPv4", "127.0.0.1"],
    ["IPv6", "::1"],
  ] as const)("the npm stun client gets its exact mapped address over TCP %s", async (family, host) => {
    const socket = net.connect({ host, port: listener("tcp", family).port });
    try {
      await streamConnected(socket, "connect");
      socket.write(bindingRequest(true));
      const response = stun.decode(await readStunFromStream(socket));
      expect(response.getXorAddress()).toEqual({ family, address: host, port: socket.localPort });
    } finally {
      socket.destroy();
    }
  });

  it.each([
    ["IPv4", "127.0.0.1"],
    ["IPv6", "::1"],
  ] as const)("a Node TLS client verifying our certificate gets its mapped address over TLS %s", async (family, host) => {
    const socket = tls.connect({ host, port: listener("tls", family).port, ca: certificate.cert, servername: "localhost" });
    try {
      await streamConnected(socket, "secureConnect");
      socket.write(bindingRequest(false));
      const response = stun.decode(await readStunFromStream(socket));
      expect(response.getXorAddress()).toEqual({ family, address: host, port: socket.localPort });
    } finally {
      socket.destroy();
    }
  });

  it("refuses TLS below 1.2", async () => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: listener("tls", "IPv4").port,
      ca: certificate.cert,
      servername: "localhost",
      minVersion: "TLSv1",
      maxVersion: "TLSv1.1",
    });
    await expect(streamConnected(socket, "secureConnect")).rejects.toThrow();
    socket.destroy();
  });

  it("answers a request delivered one byte per TCP write exactly once", async () => {
    const socket = net.connect({ host: "127.0.0.1", port: listener("tcp", "IPv4").port });
    try {
      await streamConnected(socket, "connect");
      socket.setNoDelay(true);
      const reader = new StreamReader(socket);
      const request = bindingRequest(true);
      for (const byte of request) {
        socket.write(Buffer.from([byte]));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const answer = await reader.readStun(2000);
      expect(answer.length).toBe(40);
      expect(stun.decode(answer).getXorAddress().port).toBe(socket.localPort);
      // Exactly once: nothing follows it.
      await expect(reader.read(1, 300)).rejects.toThrow(/timed out after 0 of 1 bytes/);
    } finally {
      socket.destroy();
    }
  });

  it("answers STUN messages coalesced in one TCP segment, in order", async () => {
    const socket = net.connect({ host: "127.0.0.1", port: listener("tcp", "IPv4").port });
    try {
      await streamConnected(socket, "connect");
      const first = stun.encode(stun.createMessage(constants.STUN_BINDING_REQUEST));
      const second = stun.encode(stun.createMessage(constants.STUN_BINDING_REQUEST));
      socket.write(Buffer.concat([first, second]));
      const reader = new StreamReader(socket);
      const answers = [stun.decode(await reader.readStun()), stun.decode(await reader.readStun())];
      expect(answers.map((a) => a.transactionId)).toEqual([first.subarray(8, 20), second.subarray(8, 20)]);
    } finally {
      socket.destroy();
    }
  });

  it.each([
    ["HTTP text", Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")],
    ["a TLS ClientHello on the plain port", Buffer.from("16030100a5010000a10303", "hex")],
    ["a first byte of 0x80", Buffer.alloc(24, 0x80)],
  ])("closes a TCP connection that sends %s", async (_name, garbage) => {
    const socket = net.connect({ host: "127.0.0.1", port: listener("tcp", "IPv4").port });
    await streamConnected(socket, "connect");
    socket.write(garbage);
    const { closed, data } = await readStream(socket, 2000);
    expect(closed).toBe(true);
    expect(data.length).toBe(0);
  });

  it.each([
    ["a Binding indication", stun.encode(stun.createMessage(constants.STUN_BINDING_INDICATION))],
    ["a Binding success response", stun.encode(stun.createMessage(constants.STUN_BINDING_RESPONSE))],
    ["an Allocate sent as an indication", Buffer.from("001300002112a442000102030405060708090a0b", "hex")],
    ["an unknown method", Buffer.from("003f00002112a442000102030405060708090a0b", "hex")],
    ["a header without the magic cookie", Buffer.from("0001000000000000000102030405060708090a0b", "hex")],
    ["garbage", Buffer.from("ffffffffffffffffffffffffffffffff", "hex")],
    ["19 bytes", Buffer.alloc(19)],
  ])("does not answer %s over UDP, and still answers Binding afterwards", async (_name, bytes) => {
    const target = { address: "127.0.0.1", port: listener("udp", "IPv4").port };
    const { answer } = await udpExchange(bytes, target, 300);
    expect(answer).toBeUndefined();
    const after = await udpExchange(bindingRequest(false), target);
    expect(after.answer).toBeDefined();
  });

  it("answers an unknown comprehension-required attribute with 420 and UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1)", async () => {
    const request = Buffer.from("000100082112a442000102030405060708090a0b0030000400000000", "hex");
    const { answer } = await udpExchange(request, { address: "127.0.0.1", port: listener("udp", "IPv4").port });
    expect(answer).toBeDefined();
    const response = stun.decode(answer!);
    expect(response.type).toBe(constants.STUN_BINDING_ERROR_RESPONSE);
    expect(errorCodeOf(answer!)).toBe(420);
    expect(response.getAttribute(constants.STUN_ATTR_UNKNOWN_ATTRIBUTES)?.value).toEqual([0x0030]);
  });

  it("answers a request whose attribute runs past the end with 400 (RFC 8489 §6.3)", async () => {
    const request = Buffer.from("000100082112a442000102030405060708090a0b80220ffff0000000", "hex");
    const { answer } = await udpExchange(request, { address: "127.0.0.1", port: listener("udp", "IPv4").port });
    expect(answer).toBeDefined();
    expect(stun.decode(answer!).type).toBe(constants.STUN_BINDING_ERROR_RESPONSE);
    expect(errorCodeOf(answer!)).toBe(400);
  });
});

describe("Binding options and start-up errors", () => {
  const start = (overrides: Partial<Config>): Promise<RunningServer> =>
    startServer(configFromObject({ noApi: true, listeningIps: ["127.0.0.1"], listeningPort: 0, ...overrides }), { logger: createRecordingLogger() });

  it("sends MAPPED-ADDRESS too with mapped-address, and FINGERPRINT always with fingerprint", async () => {
    const server = await start({ mappedAddress: true, fingerprint: true, noTcp: true });
    try {
      const { answer, localPort } = await udpExchange(bindingRequest(false), { address: "127.0.0.1", port: server.listeners[0]!.port });
      const response = stun.decode(answer!);
      expect(response.getAddress()).toEqual({ family: "IPv4", address: "127.0.0.1", port: localPort });
      expect(stun.validateFingerprint(response)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("sends SOFTWARE in every answer with software set (RFC 8489 §14.14), and none without it", async () => {
    const server = await start({ software: "turnpike test ✓", noTcp: true, relayThreads: 1 });
    const plain = await start({ noTcp: true, relayThreads: 1 });
    try {
      const { answer } = await udpExchange(bindingRequest(true), { address: "127.0.0.1", port: server.listeners[0]!.port });
      const response = stun.decode(answer!);
      expect(getAttribute(decodeMessage(answer!), "SOFTWARE")).toBe("turnpike test ✓");
      expect(stun.validateFingerprint(response)).toBe(true);
      // An error answer carries it too: an Allocate without credentials gets 401.
      const allocate = encodeMessage({ method: Method.Allocate, messageClass: MessageClass.Request, transactionId: randomBytes(12), attributes: [{ name: "REQUESTED-TRANSPORT", value: 17 }] });
      const challenge = await udpExchange(allocate, { address: "127.0.0.1", port: server.listeners[0]!.port });
      expect(errorCodeOf(challenge.answer!)).toBe(401);
      expect(getAttribute(decodeMessage(challenge.answer!), "SOFTWARE")).toBe("turnpike test ✓");
      const none = await udpExchange(bindingRequest(true), { address: "127.0.0.1", port: plain.listeners[0]!.port });
      expect(hasAttribute(decodeMessage(none.answer!), "SOFTWARE")).toBe(false);
    } finally {
      await server.close();
      await plain.close();
    }
  });

  it("closes a TCP connection that sends one byte and then idles, at stream-idle-timeout", async () => {
    const server = await start({ noUdp: true, streamIdleTimeoutSeconds: 1 });
    try {
      const socket = net.connect({ host: "127.0.0.1", port: server.listeners[0]!.port });
      await streamConnected(socket, "connect");
      socket.write(Buffer.from([0x00]));
      const started = Date.now();
      const { closed } = await readStream(socket, 5000);
      expect(closed).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      await server.close();
    }
  });

  it("fails with one line naming the address when the port is in use", async () => {
    const first = await start({ noTcp: true });
    try {
      const port = first.listeners[0]!.port;
      const attempt = start({ noTcp: true, listeningPort: port });
      await expect(attempt).rejects.toBeInstanceOf(StartupError);
      await expect(attempt).rejects.toThrow(`cannot listen on udp 127.0.0.1:${port}: address already in use`);
    } finally {
      await first.close();
    }
  });

  it("fails with one line when the certificate file is missing", () => {
    expect(() => configFromObject({ cert: "/nonexistent/cert.pem", pkey: "/nonexistent/key.pem" })).toThrow(
      /cannot read cert file \/nonexistent\/cert\.pem: no such file/,
    );
  });

  it("refuses in the configuration a certificate that is not a certificate", () => {
    const certificate = makeSelfSignedCertificate();
    try {
      // A key where the certificate should be: readable, but TLS cannot use it.
      expect(() => configFromObject({ cert: certificate.keyPath, pkey: certificate.keyPath })).toThrow(/^cannot use cert .* with pkey .*: /);
    } finally {
      certificate.remove();
    }
  });

  it("fails with one line when the certificate is replaced by one TLS cannot use after the configuration passed", async () => {
    const certificate = makeSelfSignedCertificate();
    try {
      const config = configFromObject({ noApi: true, listeningIps: ["127.0.0.1"], listeningPort: 0, cert: certificate.certPath, pkey: certificate.keyPath, tlsListeningPort: 0 });
      writeFileSync(certificate.certPath, readFileSync(certificate.keyPath));
      const attempt = startServer(config, { logger: createRecordingLogger() });
      await expect(attempt).rejects.toBeInstanceOf(StartupError);
      await expect(attempt).rejects.toThrow(/^cannot use cert .* with pkey/);
    } finally {
      certificate.remove();
    }
  });
});
