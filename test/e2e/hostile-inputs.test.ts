// Every input of the hostile-inputs reference list that applies to a live server, sent over UDP, TCP
// and TLS to a real server on loopback. After each case: no uncaught exception or unhandled
// rejection, nothing logged at error level, and Binding is still answered.
import type net from "node:net";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server/server.js";
import { getAttribute } from "../../src/stun/attributes/registry.js";
import { AttributeType, MessageClass } from "../../src/stun/constants.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { StreamReader } from "../helpers/sockets.js";
import { makeSelfSignedCertificate, type TestCertificate } from "../helpers/tls-cert.js";
import {
  ANSWERED,
  AUTHENTICATED,
  channel,
  giantBinding,
  hostileSendIndications,
  OVERRUN_0XFFFF,
  peerAttribute,
  sendIndication,
  UDP_DROPS,
  UNKNOWN_OPTIONAL,
  UNKNOWN_REQUIRED,
} from "./hostile/cases.js";
import {
  allocateWithChannel,
  channelDataFor,
  learnNonce,
  openClient,
  StreamClient,
  writeBytewise,
  type Exchanger,
  type TestAllocation,
} from "./hostile/clients.js";
import { createHarmCheck, expectAnswer } from "./hostile/expect.js";
import {
  activeHandles,
  answersBinding,
  closeOf,
  connectRaw,
  connectResettable,
  connectStream,
  endpointOf,
  recordProcessFaults,
  retainedHeapBytes,
  settled,
  sleep,
  startHostileServer,
  startRecordingPeer,
  UdpClient,
  until,
} from "./hostile/live.js";
import {
  answerOf,
  appendFingerprint,
  channelDataFrame,
  clientHello,
  message,
  nonZeroPadding,
  REQUESTED_TRANSPORT_UDP,
  signedRequest,
  text,
  Type,
  wireAttributes,
  withLength,
  xorAddressValue,
} from "./hostile/wire.js";

const faults = recordProcessFaults();
afterAll(() => faults.stop());

const TRANSPORTS = ["udp", "tcp", "tls"] as const;

describe("hostile inputs on a live server with one relay thread (hostile-inputs.md)", () => {
  const logger = createRecordingLogger();
  let certificate: TestCertificate;
  let server: RunningServer;
  let peer: Awaited<ReturnType<typeof startRecordingPeer>>;
  const answersBindingOver = async (transport: "tcp" | "tls"): Promise<boolean> => {
    const client = await StreamClient.open(transport, endpointOf(server, transport), certificate.cert);
    try {
      const binding = message(Type.BindingRequest);
      return (await client.exchange(binding)).message.messageClass === MessageClass.SuccessResponse;
    } catch {
      return false;
    } finally {
      client.close();
    }
  };
  const open = (transport: (typeof TRANSPORTS)[number]): Promise<Exchanger> => openClient(transport, endpointOf(server, transport), certificate.cert);

  beforeAll(async () => {
    certificate = makeSelfSignedCertificate();
    peer = await startRecordingPeer();
    // unauthorized-ratelimit is off here: these cases send thousands of unauthenticated requests from 127.0.0.1
    // and expect each answered; the rate limit has its own server below.
    server = await startHostileServer({ cert: certificate.certPath, pkey: certificate.keyPath, tlsListeningPort: 0, unauthorizedRatelimit: false }, logger);
  });

  afterEach(createHarmCheck(() => server, logger, faults));

  afterAll(async () => {
    await server?.close();
    await peer?.close();
    certificate?.remove();
  });

  describe("Datagrams and the codec (RFC 8489 §6.3, §14)", () => {
    it.each(UDP_DROPS)("%s -> drop (udp)", async (_line, build) => {
      const client = await UdpClient.open(endpointOf(server, "udp"));
      try {
        expect(await client.unansweredAfter(build())).toEqual([]);
      } finally {
        client.close();
      }
    });

    describe.each(TRANSPORTS)("over %s", (transport) => {
      it.each(ANSWERED)("%s", async (_line, build, expected) => {
        const client = await open(transport);
        try {
          const request = build();
          expectAnswer(request, await client.exchange(request), expected);
        } finally {
          client.close();
        }
      });

      it("responses never carry stale bytes: every padding byte is zero (after 0xFF-filled junk on UDP)", async () => {
        const client = await open(transport);
        try {
          if (transport === "udp") for (const junk of [Buffer.alloc(1200, 0xff), Buffer.alloc(60, 0xff).fill(0, 0, 1)]) client.send(junk);
          const requests = [
            message(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP]), // 401: REALM of 11 bytes, reason of 15
            message(Type.BindingRequest, [UNKNOWN_REQUIRED]), // 420: UNKNOWN-ATTRIBUTES of 2 bytes
            message(Type.BindingRequest, [OVERRUN_0XFFFF]), // 400: reason of 11 bytes
            appendFingerprint(message(Type.BindingRequest, [text(AttributeType.SOFTWARE, "x", Buffer.from([0xff, 0xff, 0xff]))])),
          ];
          for (const request of requests) {
            const answer = await client.exchange(request);
            expect(nonZeroPadding(answer.bytes)).toEqual([]);
          }
        } finally {
          client.close();
        }
      });

      describe("on a 5-tuple holding alice's allocation, with a channel to a peer", () => {
        let client: Exchanger;
        let allocation: TestAllocation;
        const peerEndpoint = () => ({ address: "127.0.0.1", port: peer.port });

        beforeAll(async () => {
          client = await open(transport);
          allocation = await allocateWithChannel(client, peerEndpoint());
        });
        afterAll(() => client?.close());

        it.each(AUTHENTICATED)("%s", async (_line, build, expected) => {
          const request = build(allocation.signing, peerEndpoint());
          expectAnswer(request, await client.exchange(request), expected);
          expect(server.stats().allocations).toBeGreaterThanOrEqual(1);
        });

        it("XOR-PEER-ADDRESS malformed (Send: drop); unknown comprehension-required attribute in an indication -> drop; unknown comprehension-optional -> ignored", async () => {
          const marker = Buffer.from(`marker ${transport}`);
          const before = peer.received.length;
          for (const { bytes } of hostileSendIndications(peerEndpoint())) client.send(bytes);
          client.send(sendIndication(peerEndpoint(), Buffer.from("optional ignored"), [UNKNOWN_OPTIONAL]));
          client.send(channelDataFor(client, 0x4001, marker));
          expect(await until(() => peer.received.some((d) => d.equals(marker)), 2000)).toBe(true);
          expect(peer.received.slice(before).map((d) => d.toString())).toEqual(["optional ignored", marker.toString()]);
        });
      });
    });

    describe("ChannelData over UDP (RFC 8656 §12.4)", () => {
      let client: UdpClient;
      const marker = Buffer.from("marker");

      beforeAll(async () => {
        client = await UdpClient.open(endpointOf(server, "udp"));
        await allocateWithChannel(client, { address: "127.0.0.1", port: peer.port });
      });
      afterAll(() => client?.close());

      /** Sends `frames`, then a valid marker on the bound channel; returns what the peer got before the marker. */
      async function relayed(frames: readonly Buffer[]): Promise<Buffer[]> {
        const before = peer.received.length;
        for (const frame of frames) client.send(frame);
        client.send(channelDataFrame(0x4001, marker));
        expect(await until(() => peer.received.slice(before).some((d) => d.equals(marker)), 2000)).toBe(true);
        const got = peer.received.slice(before);
        return got.slice(0, got.findIndex((d) => d.equals(marker)));
      }

      it.each([
        ["a length field larger than the payload -> drop", [channelDataFrame(0x4001, Buffer.from("short"), 100), channelDataFrame(0x4001, Buffer.alloc(0), 1)], []],
        ["length 0 -> an empty datagram to the peer", [channelDataFrame(0x4001, Buffer.alloc(0))], [Buffer.alloc(0)]],
        [
          "channel numbers 0x5000-0x7FFF -> drop",
          [0x5000, 0x5001, 0x6abc, 0x7fff].map((channel) => channelDataFrame(channel, Buffer.from("beyond"))),
          [],
        ],
        ["unbound channel numbers -> drop", [0x4000, 0x4002, 0x4fff].map((channel) => channelDataFrame(channel, Buffer.from("unbound"))), []],
        ["a header of 2 or 3 bytes -> drop", [Buffer.from([0x40, 0x01]), Buffer.from([0x40, 0x01, 0x00])], []],
        ["bytes past the length (padding over UDP) are not relayed", [Buffer.concat([channelDataFrame(0x4001, Buffer.from("abcde")), Buffer.alloc(3, 0xff)])], [Buffer.from("abcde")]],
      ] as const)("%s", async (_line, frames, expected) => {
        expect(await relayed(frames)).toEqual(expected);
        expect(await client.unansweredAfter([])).toEqual([]);
      });
    });
  });

  describe("Streams (TCP/TLS, RFC 8656 §12.5)", () => {
    const noMoreWithin = (reader: StreamReader, ms: number): Promise<boolean> =>
      reader.read(1, ms).then(
        () => false,
        () => true,
      );

    describe.each(["tcp", "tls"] as const)("over %s", (transport) => {
      const stream = () => endpointOf(server, transport);

      it("a valid request delivered one byte per write -> processed once (Binding, then a signed Allocate)", async () => {
        const client = await StreamClient.open(transport, stream(), certificate.cert);
        try {
          const bindingsBefore = server.stats().bindingRequests;
          const messagesBefore = server.stats().clientMessages;
          const binding = message(Type.BindingRequest);
          await writeBytewise(client.socket, binding);
          expectAnswer(binding, answerOf(await client.reader.readStun()), { outcome: ["success"] });
          expect(await noMoreWithin(client.reader, 200)).toBe(true);
          expect(server.stats().bindingRequests - bindingsBefore).toBe(1);
          expect(server.stats().clientMessages - messagesBefore).toBe(1); // a frame, not a chunk

          const signing = await learnNonce(client);
          const createdBefore = server.stats().allocationsCreated;
          const allocate = signedRequest(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP], signing);
          await writeBytewise(client.socket, allocate);
          expectAnswer(allocate, answerOf(await client.reader.readStun()), { outcome: ["success"] });
          expect(await noMoreWithin(client.reader, 200)).toBe(true);
          expect(server.stats().allocationsCreated - createdBefore).toBe(1);
        } finally {
          client.close();
        }
      });

      it("STUN + ChannelData + STUN in one segment, and a header split across segments -> all processed in order; ChannelData consumes 4+length rounded up to 4", async () => {
        const client = await StreamClient.open(transport, stream(), certificate.cert);
        try {
          await allocateWithChannel(client, { address: "127.0.0.1", port: peer.port });
          const before = peer.received.length;
          const [a, b, c, d] = [message(Type.BindingRequest), message(Type.BindingRequest), message(Type.BindingRequest), message(Type.BindingRequest)];
          const five = channelDataFor(client, 0x4001, Buffer.from("abcde")); // 4 + 5 + 3 bytes of padding
          const empty = channelDataFor(client, 0x4001, Buffer.alloc(0)); // 4 bytes
          client.send(Buffer.concat([a, five, empty, b]));
          for (const request of [a, b]) expectAnswer(request, answerOf(await client.reader.readStun()), { outcome: ["success"] });

          // The same, cut inside every header: STUN after 3 and 11 bytes, ChannelData after 2.
          const six = channelDataFor(client, 0x4001, Buffer.from("fghijk"));
          const stream = Buffer.concat([c, six, d]);
          const cuts = [3, 11, c.length + 2, c.length + six.length + 7, stream.length];
          let from = 0;
          for (const cut of cuts) {
            client.send(stream.subarray(from, cut));
            from = cut;
            await sleep(20);
          }
          for (const request of [c, d]) expectAnswer(request, answerOf(await client.reader.readStun()), { outcome: ["success"] });
          expect(await until(() => peer.received.length - before >= 3, 2000)).toBe(true);
          expect(peer.received.slice(before).map((x) => x.toString())).toEqual(["abcde", "", "fghijk"]);
          expect(await noMoreWithin(client.reader, 100)).toBe(true);
        } finally {
          client.close();
        }
      });

      it("a header declaring a body of 65532 bytes -> treated as incomplete until its last byte arrives, then answered once", async () => {
        const client = await StreamClient.open(transport, stream(), certificate.cert);
        try {
          const giant = giantBinding();
          client.send(giant.subarray(0, giant.length - 1));
          expect(await noMoreWithin(client.reader, 300)).toBe(true);
          client.send(giant.subarray(giant.length - 1));
          expectAnswer(giant, answerOf(await client.reader.readStun()), { outcome: ["success"] });
        } finally {
          client.close();
        }
      });

      it("a header declaring a body of 65532 bytes followed by silence -> treated as incomplete, buffer bounded, closed at the idle timeout", async () => {
        const sockets = activeHandles("TCPSocketWrap");
        const client = await StreamClient.open(transport, stream(), certificate.cert);
        const giant = giantBinding();
        client.send(giant.subarray(0, 20 + 40_000));
        const { closed, afterMs, data } = await closeOf(client.socket, 4000);
        expect(closed).toBe(true);
        expect(afterMs).toBeGreaterThanOrEqual(800);
        expect(afterMs).toBeLessThan(3000);
        expect(data.length).toBe(0);
        expect(await until(() => activeHandles("TCPSocketWrap") <= sockets, 2000)).toBe(true);
      });

      it.each([
        ["first byte 0x80", () => Buffer.alloc(24, 0x80)],
        ["a TLS ClientHello", () => clientHello(0x0303)],
        ["HTTP text", () => Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")],
        ["ChannelData on a connection without an allocation", () => channelDataFrame(0x4001, Buffer.from("abcd"))],
        ["a STUN header with a wrong magic cookie", () => withLength(message(Type.BindingRequest).fill(0x42, 4, 8), 0)],
        ["a STUN length not a multiple of 4", () => withLength(Buffer.concat([message(Type.BindingRequest), Buffer.alloc(2)]), 2)],
      ] as const)("garbage: %s -> connection closed", async (_line, garbage) => {
        const client = await StreamClient.open(transport, stream(), certificate.cert);
        client.send(garbage());
        const { closed, afterMs, data } = await closeOf(client.socket, 2000);
        expect(closed).toBe(true);
        expect(afterMs).toBeLessThan(700); // not the idle timeout (1 s) closing it
        expect(data.length).toBe(0);
      });

      it("garbage after a valid request -> the request is answered, then the connection closed", async () => {
        const client = await StreamClient.open(transport, stream(), certificate.cert);
        const binding = message(Type.BindingRequest);
        client.send(Buffer.concat([binding, Buffer.from("GET / HTTP/1.1\r\n\r\n")]));
        const { closed, afterMs, data } = await closeOf(client.socket, 2000);
        expect(closed).toBe(true);
        expect(afterMs).toBeLessThan(700);
        expectAnswer(binding, answerOf(data), { outcome: ["success"] });
      });

      it("a reset mid-message -> every per-connection resource released (a connection without an allocation)", async () => {
        const sockets = activeHandles("TCPSocketWrap");
        const { socket, reset } = await connectResettable(transport, stream(), certificate.cert);
        socket.write(message(Type.BindingRequest, [text(AttributeType.SOFTWARE, "half of me")]).subarray(0, 27));
        await sleep(50);
        reset();
        expect(await until(() => activeHandles("TCPSocketWrap") <= sockets, 2000)).toBe(true);
      });

      it("a reset mid-message -> every per-connection resource released (allocation, permission, channel, relay socket)", async () => {
        const baseline = server.stats();
        const sockets = activeHandles("TCPSocketWrap");
        const relaySockets = activeHandles("UDPWrap");
        const { socket, reset } = await connectResettable(transport, stream(), certificate.cert);
        const client = StreamClient.over(transport, socket);
        const { signing } = await allocateWithChannel(client, { address: "127.0.0.1", port: peer.port });
        expect(server.stats()).toMatchObject({ allocations: baseline.allocations + 1, channels: baseline.channels + 1 });
        expect(activeHandles("UDPWrap")).toBe(relaySockets + 1);
        const channelBind = signedRequest(Type.ChannelBindRequest, [channel(0x4002), peerAttribute(xorAddressValue("127.0.0.1", peer.port + 1))], signing);
        socket.write(channelBind.subarray(0, 30));
        await sleep(50);
        reset();
        expect(await until(() => server.stats().allocations === baseline.allocations, 2000)).toBe(true);
        expect(server.stats()).toMatchObject({
          allocations: baseline.allocations,
          permissions: baseline.permissions,
          channels: baseline.channels,
          relayPortsFree: baseline.relayPortsFree,
        });
        expect(await until(() => activeHandles("TCPSocketWrap") <= sockets && activeHandles("UDPWrap") <= relaySockets, 2000)).toBe(true);
      });

      it("a client that never reads while its peer floods -> its write buffer is capped (the connection is dropped); memory stays flat", async () => {
        const flooder = await startRecordingPeer();
        const client = await StreamClient.open(transport, stream(), certificate.cert);
        try {
          const baseline = server.stats().allocations;
          const { relayed } = await allocateWithChannel(client, { address: "127.0.0.1", port: flooder.port });
          const droppedBefore = server.stats().droppedPackets;
          client.socket.pause();
          const rssBefore = process.memoryUsage().rss;
          let rssPeak = rssBefore;
          const datagram = Buffer.alloc(1200, 0x5a);
          const started = Date.now();
          let sent = 0;
          // Bounded: at most 80,000 datagrams (96 MB) or 20 s; the server must give up on the client long before.
          while (server.stats().allocations > baseline && sent < 80_000 && Date.now() - started < 20_000) {
            for (let i = 0; i < 64; i++) flooder.send(datagram, relayed);
            sent += 64;
            await new Promise((resolve) => setImmediate(resolve));
            if (sent % 4096 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
          }
          rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
          expect(server.stats().allocations).toBe(baseline);
          // What came for it once its link was given up on (the datagram that found it full, at least) was dropped, and counted.
          expect(server.stats().droppedPackets).toBeGreaterThan(droppedBefore);
          expect(rssPeak - rssBefore).toBeLessThan(50 * 1024 * 1024);
          client.socket.resume();
          expect((await closeOf(client.socket, 10_000)).closed).toBe(true);
        } finally {
          client.close();
          await flooder.close();
        }
      });
    });

    it("hundreds of connections that send one byte and idle (300 TCP, 60 TLS) -> all closed at the idle timeout; new clients are served throughout", async () => {
      const sockets = activeHandles("TCPSocketWrap");
      const closes: Promise<{ closed: boolean; afterMs: number; data: Buffer }>[] = [];
      const open = async (transport: "tcp" | "tls"): Promise<void> => {
        const socket = await connectStream(transport, endpointOf(server, transport), certificate.cert);
        socket.write(Buffer.from([0x00]));
        closes.push(closeOf(socket, 5000));
      };
      let served = 0;
      let refused = 0;
      let opening = true;
      const probing = (async () => {
        // New clients, while the idle ones pile up and until they are gone: each answered (bounded: 60 rounds).
        for (let round = 0; round < 60 && (opening || closes.length === 0 || served < 5); round++) {
          if ((await answersBinding(server)) && (await answersBindingOver("tls"))) served++;
          else refused++;
          await sleep(50);
        }
      })();
      for (let batch = 0; batch < 6; batch++) await Promise.all(Array.from({ length: 50 }, () => open("tcp")));
      for (let batch = 0; batch < 3; batch++) await Promise.all(Array.from({ length: 20 }, () => open("tls")));
      opening = false;
      const results = await Promise.all(closes);
      await probing;
      expect(results).toHaveLength(360);
      expect(results.filter((r) => !r.closed)).toEqual([]);
      expect(Math.min(...results.map((r) => r.afterMs))).toBeGreaterThanOrEqual(800);
      expect(Math.max(...results.map((r) => r.afterMs))).toBeLessThan(4000);
      expect(refused).toBe(0);
      expect(served).toBeGreaterThanOrEqual(5);
      expect(await until(() => activeHandles("TCPSocketWrap") <= sockets, 3000)).toBe(true);
    });

    describe("TLS", () => {
      it("TLS below 1.2 refused (a ClientHello offering at most TLS 1.0 or 1.1 gets a protocol_version alert, never a ServerHello)", async () => {
        for (const version of [0x0301, 0x0302]) {
          const socket = await connectRaw(endpointOf(server, "tls"));
          socket.write(clientHello(version));
          const { closed, data } = await closeOf(socket, 2000);
          expect(closed).toBe(true);
          expect(data[0]).toBe(0x15); // alert record, not a 0x16 handshake record
          expect(data[6]).toBe(70); // protocol_version (RFC 5246 §7.2)
        }
      });

      it("TLS below 1.2 refused (Node's own client limited to TLS 1.1 never connects)", async () => {
        const socket = tls.connect({
          host: "127.0.0.1",
          port: endpointOf(server, "tls").port,
          ca: certificate.cert,
          servername: "localhost",
          minVersion: "TLSv1",
          maxVersion: "TLSv1.1",
          ciphers: "DEFAULT@SECLEVEL=0",
        });
        const outcome = await new Promise<string>((resolve) => {
          socket.once("secureConnect", () => resolve("connected"));
          socket.once("error", () => resolve("refused"));
        });
        socket.destroy();
        expect(outcome).toBe("refused");
      });

      it("a truncated ClientHello on the TLS port -> closed (when the client then ends its side)", async () => {
        const socket = await connectRaw(endpointOf(server, "tls"));
        socket.end(clientHello(0x0303).subarray(0, 40));
        const { closed, afterMs } = await closeOf(socket, 3000);
        expect(closed).toBe(true);
        expect(afterMs).toBeLessThan(1000);
      });

      it("plaintext STUN on the TLS port -> closed, unanswered", async () => {
        const socket = await connectRaw(endpointOf(server, "tls"));
        socket.write(message(Type.BindingRequest));
        const { closed, afterMs, data } = await closeOf(socket, 3000);
        expect(closed).toBe(true);
        expect(afterMs).toBeLessThan(1000);
        expect(data.length === 0 || data[0] === 0x15).toBe(true); // nothing, or a TLS alert: never a STUN answer
      });
    });
  });
  describe("Floods and amplification (UDP)", () => {
    it.each([
      ["without FINGERPRINT", () => message(Type.BindingRequest), 32, [AttributeType.XOR_MAPPED_ADDRESS]],
      ["with FINGERPRINT (asked for)", () => appendFingerprint(message(Type.BindingRequest)), 40, [AttributeType.XOR_MAPPED_ADDRESS, AttributeType.FINGERPRINT]],
    ] as const)("a bare 20-byte Binding request -> a response of at most ~44 bytes (XOR-MAPPED-ADDRESS, FINGERPRINT only if asked): %s", async (_name, build, size, types) => {
      const client = await UdpClient.open(endpointOf(server, "udp"));
      try {
        const answer = await client.exchange(build());
        expect(answer.bytes.length).toBe(size);
        expect(answer.bytes.length).toBeLessThanOrEqual(44);
        expect(wireAttributes(answer.bytes).map((a) => a.type)).toEqual(types);
      } finally {
        client.close();
      }
    });

    it("10,000 well-formed unauthenticated Allocates from distinct source ports -> each gets a 401; no per-source state, sockets or timers are created", async () => {
      const before = server.stats();
      const unauthorizedBefore = before.errorResponses[401] ?? 0;
      const udpSockets = activeHandles("UDPWrap");
      const timers = activeHandles("Timeout");
      const heapBefore = retainedHeapBytes();
      const ports = new Set<number>();
      let sent = 0;
      let answered = 0;
      // 50 clients at a time, each a new source port; each retransmits until answered (RFC 8489 §6.2.1).
      for (let batch = 0; batch < 200; batch++) {
        const clients: UdpClient[] = [];
        while (clients.length < 50) {
          const client = await UdpClient.open(endpointOf(server, "udp"));
          if (ports.has(client.localPort)) client.close();
          else {
            ports.add(client.localPort);
            clients.push(client);
          }
        }
        const answers = await Promise.all(
          clients.map((client) => client.exchange(message(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP]), 5000).catch(() => undefined)),
        );
        for (const client of clients) {
          sent += client.sent;
          client.close();
        }
        for (const answer of answers) {
          expect(answer?.code).toBe(401);
          expect(getAttribute(answer!.message, "NONCE")).toBeDefined();
          answered++;
        }
      }
      expect(ports.size).toBe(10_000);
      expect(answered).toBe(10_000);
      const after = server.stats();
      expect(after.allocations).toBe(before.allocations);
      expect(after.relayPortsFree).toBe(before.relayPortsFree);
      const unauthorized = (after.errorResponses[401] ?? 0) - unauthorizedBefore;
      expect(unauthorized).toBeGreaterThanOrEqual(10_000);
      expect(unauthorized).toBeLessThanOrEqual(sent);
      expect(await until(() => activeHandles("UDPWrap") <= udpSockets, 2000)).toBe(true);
      expect(activeHandles("Timeout")).toBeLessThanOrEqual(timers);
      expect(retainedHeapBytes() - heapBefore).toBeLessThan(4 * 1024 * 1024);
    }, 40_000);

    it("100,000 malformed packets -> a bounded number of log lines (none for the 90,000 dropped; for the 10,000 answered 400/420 none at info level and above, at most 50 in all)", async () => {
      const client = await UdpClient.open(endpointOf(server, "udp"));
      try {
        const drops = UDP_DROPS.flatMap(([, build]) => build()).filter((d) => d.length < 2000);
        const answered = ANSWERED.filter(([, , e]) => e.outcome.includes(400) || e.outcome.includes(420)).map(([, build]) => build);

        // 40 at a time, each batch followed by a Binding answer: the server has read the batch before the next is sent.
        const linesBefore = logger.records.length;
        for (let sent = 0; sent < 90_000; ) {
          const batch: Buffer[] = [];
          for (let i = 0; i < 40 && sent < 90_000; i++, sent++) batch.push(drops[sent % drops.length]!);
          expect(await client.unansweredAfter(batch, 0)).toEqual([]);
        }
        expect(logger.records.slice(linesBefore)).toEqual([]);

        const answeredBefore = logger.records.length;
        const errorsBefore = { ...server.stats().errorResponses };
        for (let sent = 0; sent < 10_000; sent += 40) {
          const batch = Array.from({ length: 40 }, (_, i) => answered[(sent + i) % answered.length]!());
          const answers = await Promise.all(batch.map((request) => client.exchange(request)));
          expect(answers.every((a) => a.code === 400 || a.code === 420)).toBe(true);
        }
        const lines = logger.records.slice(answeredBefore);
        // The once-a-minute count of what the log budget held back may fall in this phase on a slow machine.
        const budgetCounts = (r: (typeof lines)[number]) => r.msg === "log lines suppressed";
        expect(lines.filter((r) => r.level !== "debug" && r.level !== "trace" && !budgetCounts(r))).toEqual([]);
        expect(lines.length).toBeLessThanOrEqual(50); // bounded whatever the count: not one per packet
        const errorsAfter = server.stats().errorResponses;
        const processed = (errorsAfter[400] ?? 0) - (errorsBefore[400] ?? 0) + (errorsAfter[420] ?? 0) - (errorsBefore[420] ?? 0);
        expect(processed).toBeGreaterThanOrEqual(10_000);
        } finally {
        client.close();
      }
    }, 40_000);
  });
});

describe("unauthenticated requests above a rate from one source IP (unauthorized-ratelimit, on by default)", () => {
  const logger = createRecordingLogger();
  let server: RunningServer;

  beforeAll(async () => {
    server = await startHostileServer({}, logger);
  });
  afterEach(createHarmCheck(() => server, logger, faults));
  afterAll(async () => {
    await server?.close();
  });

  it("further error responses are suppressed; other sources unaffected; no per-source state; the source is answered again once the flood stops", async () => {
    const before = server.stats();
    const unauthorizedBefore = before.errorResponses[401] ?? 0;
    const heapBefore = retainedHeapBytes();
    const started = Date.now();
    let answered = 0;
    // 2,000 well-formed unauthenticated Allocates from 2,000 source ports of 127.0.0.1, 40 at a time, each sent once.
    for (let batch = 0; batch < 50; batch++) {
      const clients = await Promise.all(Array.from({ length: 40 }, () => UdpClient.open(endpointOf(server, "udp"))));
      for (const client of clients) client.send(message(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP]));
      await sleep(5);
      const answers = await Promise.all(clients.map((client) => client.next(() => true, 20)));
      answered += answers.filter((a) => a !== undefined).length;
      for (const client of clients) client.close();
    }
    await sleep(100);
    const elapsedSeconds = (Date.now() - started) / 1000;
    // Burst 200, then 20 a second: far fewer than 2,000.
    expect(answered).toBeGreaterThanOrEqual(50);
    expect(answered).toBeLessThanOrEqual(200 + Math.ceil(20 * elapsedSeconds) + 1);
    expect((server.stats().errorResponses[401] ?? 0) - unauthorizedBefore).toBeLessThanOrEqual(200 + Math.ceil(20 * elapsedSeconds) + 1);

    // Another source IP is answered at once; Binding (not an error) from the flooding IP too.
    const other = await UdpClient.open(endpointOf(server, "udp"), "127.0.0.2");
    try {
      expect((await other.exchange(message(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP]))).code).toBe(401);
    } finally {
      other.close();
    }
    const flooder = await UdpClient.open(endpointOf(server, "udp"));
    try {
      expect((await flooder.exchange(message(Type.BindingRequest))).message.messageClass).toBe(MessageClass.SuccessResponse);
      // Ten answers a second come back: a retransmitting client is answered within a second or two.
      expect((await flooder.exchange(message(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP]), 4000)).code).toBe(401);
    } finally {
      flooder.close();
    }
    expect(server.stats().allocations).toBe(before.allocations);
    expect(retainedHeapBytes() - heapBefore).toBeLessThan(4 * 1024 * 1024);
  }, 30_000);
});

describe("TCP/TLS connection caps (max-tcp-connections, max-tcp-connections-per-ip) and max-allocate-timeout", () => {
  const logger = createRecordingLogger();
  let certificate: TestCertificate;
  let server: RunningServer;

  beforeAll(async () => {
    certificate = makeSelfSignedCertificate();
    server = await startHostileServer(
      {
        cert: certificate.certPath,
        pkey: certificate.keyPath,
        tlsListeningPort: 0,
        maxTcpConnectionsPerIp: 20,
        maxTcpConnections: 30,
        maxAllocateTimeoutSeconds: 1,
        streamIdleTimeoutSeconds: 10,
      },
      logger,
    );
  });
  afterEach(createHarmCheck(() => server, logger, faults));
  afterAll(async () => {
    await server?.close();
    certificate?.remove();
  });

  const isClosedSoon = async (socket: net.Socket): Promise<boolean> => (await closeOf(socket, 500)).closed;

  it.each(["tcp", "tls"] as const)("over %s: connections past the per-IP cap are closed at once, other IPs are served; past the total cap every IP is refused; closing frees the slots", async (transport) => {
    const endpoint = endpointOf(server, transport);
    const held: net.Socket[] = [];
    try {
      // 20 raw connections from 127.0.0.3: for TLS, handshakes that never start count too.
      for (let i = 0; i < 20; i++) held.push(await connectRaw(endpoint, "127.0.0.3"));
      await sleep(100);
      expect(held.filter((s) => s.destroyed)).toEqual([]);
      expect(await isClosedSoon(await connectRaw(endpoint, "127.0.0.3"))).toBe(true);
      const served = await StreamClient.open(transport, endpoint, certificate.cert, "127.0.0.4");
      held.push(served.socket);
      expect((await served.exchange(message(Type.BindingRequest))).message.messageClass).toBe(MessageClass.SuccessResponse);
      for (let i = 0; i < 9; i++) held.push(await connectRaw(endpoint, "127.0.0.5"));
      await sleep(100);
      expect(held.filter((s) => s.destroyed)).toEqual([]);
      expect(await isClosedSoon(await connectRaw(endpoint, "127.0.0.6"))).toBe(true);
    } finally {
      for (const socket of held) socket.destroy();
    }
    // The slots come back when the connections go.
    await sleep(200);
    const again = await StreamClient.open(transport, endpoint, certificate.cert, "127.0.0.3");
    try {
      expect((await again.exchange(message(Type.BindingRequest))).message.messageClass).toBe(MessageClass.SuccessResponse);
    } finally {
      again.close();
    }
  });

  it.each(["tcp", "tls"] as const)("over %s: a busy connection that never allocates is closed at max-allocate-timeout; one that allocated stays", async (transport) => {
    const peer = await startRecordingPeer();
    const busy = await StreamClient.open(transport, endpointOf(server, transport), certificate.cert);
    const allocated = await StreamClient.open(transport, endpointOf(server, transport), certificate.cert);
    try {
      const { signing } = await allocateWithChannel(allocated, { address: "127.0.0.1", port: peer.port });
      const closing = closeOf(busy.socket, 4000);
      // A Binding request every 200 ms (bounded: 20), so the idle timeout never fires.
      for (let i = 0; i < 20 && !busy.socket.destroyed; i++) {
        busy.send(message(Type.BindingRequest));
        await sleep(200);
      }
      const { closed, afterMs } = await closing;
      expect(closed).toBe(true);
      expect(afterMs).toBeLessThan(4000); // the deadline (1 s) plus the sweep (1 s); the idle timeout is 10 s
      const refreshed = await allocated.exchange(signedRequest(Type.RefreshRequest, [], signing));
      expect(refreshed.message.messageClass).toBe(MessageClass.SuccessResponse);
    } finally {
      busy.close();
      allocated.close();
      await peer.close();
    }
  });
});

describe("the same hostile inputs on two relay threads", () => {
  const logger = createRecordingLogger();
  let server: RunningServer;
  let peer: Awaited<ReturnType<typeof startRecordingPeer>>;

  beforeAll(async () => {
    peer = await startRecordingPeer();
    server = await startHostileServer({ relayThreads: 2, unauthorizedRatelimit: false }, logger);
  });
  afterEach(createHarmCheck(() => server, logger, faults));
  afterAll(async () => {
    await server?.close();
    await peer?.close();
  });

  it.each(UDP_DROPS)("%s -> drop (udp)", async (_line, build) => {
    const client = await UdpClient.open(endpointOf(server, "udp"));
    try {
      expect(await client.unansweredAfter(build())).toEqual([]);
    } finally {
      client.close();
    }
  });

  describe.each(["udp", "tcp"] as const)("over %s", (transport) => {
    it.each(ANSWERED)("%s", async (_line, build, expected) => {
      const client = await openClient(transport, endpointOf(server, transport));
      try {
        const request = build();
        expectAnswer(request, await client.exchange(request), expected);
      } finally {
        client.close();
      }
    });

    it("every authenticated case of the table, on a 5-tuple holding an allocation", async () => {
      const client = await openClient(transport, endpointOf(server, transport));
      try {
        const { signing } = await allocateWithChannel(client, { address: "127.0.0.1", port: peer.port });
        for (const [, build, expected] of AUTHENTICATED) {
          const request = build(signing, { address: "127.0.0.1", port: peer.port });
          expectAnswer(request, await client.exchange(request), expected);
        }
      } finally {
        client.close();
      }
    });
  });

  it.each([
    ["first byte 0x80", () => Buffer.alloc(24, 0x80)],
    ["HTTP text", () => Buffer.from("GET / HTTP/1.1\r\n\r\n")],
    ["a TLS ClientHello on the plain port", () => clientHello(0x0303)],
  ] as const)("garbage over tcp: %s -> connection closed", async (_line, garbage) => {
    const client = await StreamClient.open("tcp", endpointOf(server, "tcp"));
    client.send(garbage());
    const { closed, afterMs } = await closeOf(client.socket, 2000);
    expect(closed).toBe(true);
    expect(afterMs).toBeLessThan(700);
  });

  it("a reset mid-message -> the allocation, its channel and relay port are released (stats summed over the threads)", async () => {
    await settled(() => server.stats().allocations); // the threads report their figures four times a second
    const baseline = server.stats();
    const { socket, reset } = await connectResettable("tcp", endpointOf(server, "tcp"));
    const { signing } = await allocateWithChannel(StreamClient.over("tcp", socket), { address: "127.0.0.1", port: peer.port });
    expect(await until(() => server.stats().allocations === baseline.allocations + 1, 2000)).toBe(true);
    socket.write(signedRequest(Type.RefreshRequest, [], signing).subarray(0, 30));
    await sleep(50);
    reset();
    expect(await until(() => server.stats().allocations === baseline.allocations && server.stats().channels === baseline.channels, 3000)).toBe(true);
    expect(server.stats().relayPortsFree).toBe(baseline.relayPortsFree);
  });

  it("20,000 malformed packets -> nothing logged at info level and above", async () => {
    const client = await UdpClient.open(endpointOf(server, "udp"));
    try {
      const drops = UDP_DROPS.flatMap(([, build]) => build()).filter((d) => d.length < 2000);
      const answered = ANSWERED.filter(([, , e]) => e.outcome.includes(400) || e.outcome.includes(420)).map(([, build]) => build());
      const pool = [...drops, ...answered];
      const linesBefore = logger.records.length;
      for (let sent = 0; sent < 20_000; ) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 40 && sent < 20_000; i++, sent++) batch.push(pool[sent % pool.length]!);
        await client.unansweredAfter(batch, 0);
      }
      const lines = logger.records.slice(linesBefore);
      expect(lines.filter((r) => r.level !== "debug" && r.level !== "trace")).toEqual([]);
      expect(lines.length).toBeLessThanOrEqual(100);
    } finally {
      client.close();
    }
  }, 30_000);
});
