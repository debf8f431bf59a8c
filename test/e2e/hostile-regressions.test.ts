// Cases that failed when hostile-inputs.test.ts was written, kept as regression tests once src was fixed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server/server.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { makeSelfSignedCertificate, type TestCertificate } from "../helpers/tls-cert.js";
import { LONG_SOFTWARE } from "./hostile/cases.js";
import { allocateWithChannel, openClient } from "./hostile/clients.js";
import { expectAnswer } from "./hostile/expect.js";
import { closeOf, connectRaw, endpointOf, recordProcessFaults, sleep, startHostileServer, startRecordingPeer, UdpClient, until } from "./hostile/live.js";
import { clientHello } from "./hostile/wire.js";

const faults = recordProcessFaults();
afterAll(() => faults.stop());

describe("ChannelData over UDP shorter than its 4-byte header, from a 5-tuple holding an allocation (hostile-inputs: ChannelData ... -> drop)", () => {
  it.each([1, 2] as const)("relayThreads %i: a 1-byte datagram 0x40 is dropped; nothing escapes, nothing logged at error level", async (relayThreads) => {
    const logger = createRecordingLogger();
    const peer = await startRecordingPeer();
    const server = await startHostileServer({ relayThreads }, logger);
    try {
      const client = await UdpClient.open(endpointOf(server, "udp"));
      await allocateWithChannel(client, { address: "127.0.0.1", port: peer.port });
      client.send(Buffer.from([0x40]));
      await sleep(500);
      expect(faults.uncaught.splice(0)).toEqual([]);
      expect(logger.errors()).toEqual([]);
      expect(server.stats().allocations).toBe(1);
      client.close();
    } finally {
      await server.close();
      await peer.close();
    }
  });
});

describe("TLS: handshake timeout of seconds; a truncated ClientHello -> closed", () => {
  let certificate: TestCertificate;
  let server: RunningServer;
  beforeAll(async () => {
    certificate = makeSelfSignedCertificate();
    server = await startHostileServer({ cert: certificate.certPath, pkey: certificate.keyPath, tlsListeningPort: 0 }, createRecordingLogger());
  });
  afterAll(() => certificate?.remove());

  it("a silent connection and a truncated ClientHello on the TLS port are closed within 12 s", async () => {
    const silent = await connectRaw(endpointOf(server, "tls"));
    const truncated = await connectRaw(endpointOf(server, "tls"));
    truncated.write(clientHello(0x0303).subarray(0, 40));
    const results = await Promise.all([closeOf(silent, 13_000), closeOf(truncated, 13_000)]);
    expect(results.map((r) => r.closed)).toEqual([true, true]);
    silent.destroy();
    truncated.destroy();
  }, 15_000);

  it("server.close() completes promptly while a TLS handshake is pending", async () => {
    const pending = await connectRaw(endpointOf(server, "tls"));
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    expect(await until(() => closed, 3000)).toBe(true);
    pending.destroy();
    await closing;
  }, 10_000);
});

describe("SOFTWARE over 128 characters (hostile-inputs: ... SOFTWARE over 128 characters -> 400/401)", () => {
  it("in a signed Refresh -> 400, signed (checked after authentication, RFC 8489 §6.3)", async () => {
    const peer = await startRecordingPeer();
    const server = await startHostileServer({}, createRecordingLogger());
    try {
      const client = await openClient("udp", endpointOf(server, "udp"));
      const { signing } = await allocateWithChannel(client, { address: "127.0.0.1", port: peer.port });
      const [, build, expected] = LONG_SOFTWARE;
      const request = build(signing, { address: "127.0.0.1", port: peer.port });
      expectAnswer(request, await client.exchange(request), expected);
      client.close();
    } finally {
      await server.close();
      await peer.close();
    }
  });
});
