import { X509Certificate } from "node:crypto";
import dgram from "node:dgram";
import type { NetworkInterfaceInfo } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import type { Config } from "../../src/config/config.js";
import { mintRestCredential } from "../../src/credentials/rest-credentials.js";
import { getAttribute, getAttributes } from "../../src/stun/attributes/registry.js";
import { verifyMessageIntegrity, verifyMessageIntegritySha256 } from "../../src/stun/integrity.js";
import { Method, MessageClass } from "../../src/stun/constants.js";
import { startServer, type ListenerInfo, type RunningServer } from "../../src/server/server.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { freePort } from "../helpers/processes.js";
import { makeSelfSignedCertificate, servedFingerprint, type TestCertificate } from "../helpers/tls-cert.js";
import { channelData, decode, errorCode, nonceOffersUserhash, type Credentials } from "../helpers/turn-messages.js";
import { SocketTurnClient, startEchoPeer } from "../helpers/turn-socket-client.js";
import { settled, until } from "../helpers/until.js";
import { retainedHeapBytes } from "./hostile/live.js";

const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;
const ALICE: Credentials = { username: "alice", password: "wonderland", realm: "example.org" };

/** `clock`: a manual one, which needs the one relay thread on this thread (relayThreads 1). */
function startTestServer(overrides: Partial<Config>, logger = createRecordingLogger(), clock?: ManualClock): Promise<RunningServer> {
  return startServer(
    configFromObject({
      noApi: true,
      listeningIps: ["127.0.0.1"],
      listeningPort: 0,
      realm: "example.org",
      users: ["alice:wonderland"],
      allowLoopbackPeers: true,
      ...overrides,
    }),
    // One relay thread runs on this thread, so that its heap and stats can be read at once.
    { logger, inProcess: overrides.relayThreads === 1, ...(clock ? { clock } : {}) },
  );
}

const at = (server: RunningServer, transport: ListenerInfo["transport"]) => {
  const l = server.listeners.find((x) => x.transport === transport)!;
  return { address: l.address, port: l.port };
};

describe("TURN relaying over real sockets (RFC 8656)", () => {
  const logger = createRecordingLogger();
  let certificate: TestCertificate;
  let server: RunningServer;
  let peer: Awaited<ReturnType<typeof startEchoPeer>>;

  beforeAll(async () => {
    certificate = makeSelfSignedCertificate();
    peer = await startEchoPeer();
    server = await startTestServer({ cert: certificate.certPath, pkey: certificate.keyPath, tlsListeningPort: 0 }, logger);
  });

  afterAll(async () => {
    await server?.close();
    await peer?.close();
    certificate?.remove();
    expect(logger.errors()).toEqual([]);
  });

  const open = (transport: ListenerInfo["transport"], credentials = ALICE) =>
    transport === "udp"
      ? SocketTurnClient.udp(at(server, "udp"), credentials)
      : SocketTurnClient.stream(transport, at(server, transport), credentials, certificate.cert);

  it.each(["udp", "tcp", "tls"] as const)("over %s: Allocate, Send -> Data indication, ChannelBind -> ChannelData both ways", async (transport) => {
    const client = await open(transport);
    try {
      const allocated = await client.request(Method.Allocate, [UDP]);
      expect(allocated.messageClass).toBe(MessageClass.SuccessResponse);
      const relayed = getAttribute(allocated, "XOR-RELAYED-ADDRESS")!;
      expect(relayed.address).toBe("127.0.0.1");
      expect(relayed.port).toBeGreaterThanOrEqual(49152);

      const peerAddress = { family: "IPv4", address: "127.0.0.1", port: peer.port } as const;
      expect((await client.request(Method.CreatePermission, [{ name: "XOR-PEER-ADDRESS", value: peerAddress }])).messageClass).toBe(
        MessageClass.SuccessResponse,
      );
      client.send(client.builder.indication(Method.Send, [{ name: "XOR-PEER-ADDRESS", value: peerAddress }, { name: "DATA", value: Buffer.from("via send") }]));
      const dataIndication = await client.next((f) => f[0]! < 0x40 && decode(f).method === Method.Data);
      expect(dataIndication).toBeDefined();
      expect(getAttribute(decode(dataIndication!), "DATA")?.toString()).toBe("via send");
      expect(getAttribute(decode(dataIndication!), "XOR-PEER-ADDRESS")).toEqual(peerAddress);

      const bound = await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4001 }, { name: "XOR-PEER-ADDRESS", value: peerAddress }]);
      expect(bound.messageClass).toBe(MessageClass.SuccessResponse);
      // 5 bytes: over TCP/TLS both directions carry 3 bytes of padding (RFC 8656 §12.5).
      const payload = Buffer.from("media");
      const frame = channelData(0x4001, payload);
      client.send(transport === "udp" ? frame : Buffer.concat([frame, Buffer.alloc(3)]));
      const echoed = await client.next((f) => f[0] === 0x40);
      expect(echoed).toBeDefined();
      expect(echoed!.readUInt16BE(0)).toBe(0x4001);
      expect(echoed!.readUInt16BE(2)).toBe(payload.length);
      expect(echoed!.subarray(4, 9)).toEqual(payload);
      expect(echoed!.length).toBe(transport === "udp" ? 9 : 12);
    } finally {
      client.close();
    }
  });

  it("drops traffic from a peer without a permission", async () => {
    const client = await open("udp");
    const stranger = dgram.createSocket("udp4");
    try {
      const relayed = getAttribute(await client.request(Method.Allocate, [UDP]), "XOR-RELAYED-ADDRESS")!;
      await new Promise<void>((resolve) => stranger.bind(0, "127.0.0.1", resolve));
      stranger.send(Buffer.from("unsolicited"), relayed.port, relayed.address);
      expect(await client.next(() => true, 300)).toBeUndefined();
    } finally {
      stranger.close();
      client.close();
    }
  });

  it.each(["tcp", "tls"] as const)("removes the allocation at once when the %s connection closes (§3.1)", async (transport) => {
    // Stats are summed from the relay threads four times a second; "at once" is asserted within a second or two.
    const before = await settled(() => server.stats().allocations);
    const client = await open(transport);
    await client.request(Method.Allocate, [UDP]);
    expect(await until(() => server.stats().allocations === before + 1, 2000)).toBe(true);
    client.close();
    expect(await until(() => server.stats().allocations === before, 2000)).toBe(true);
  });

  it("authenticates a REST credential minted from the shared secret", async () => {
    const rest = await startTestServer({ useAuthSecret: true, staticAuthSecrets: ["north-secret"] });
    try {
      const minted = mintRestCredential({ secret: "north-secret", user: "dave", ttlSeconds: 600, nowMs: Date.now() });
      const client = await SocketTurnClient.udp(at(rest, "udp"), { username: minted.username, password: minted.password, realm: "example.org" });
      expect((await client.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
      client.close();
      const expired = mintRestCredential({ secret: "north-secret", user: "dave", ttlSeconds: 1, nowMs: Date.now() - 60_000 });
      const late = await SocketTurnClient.udp(at(rest, "udp"), { username: expired.username, password: expired.password, realm: "example.org" });
      const refused = await late.request(Method.Allocate, [UDP]);
      expect(errorCode(refused)).toBe(401);
      late.close();
    } finally {
      await rest.close();
    }
  });

  it("logs each rejected credential at info, with the username and reason, never the password; the plain challenge is not logged", async () => {
    const log = createRecordingLogger();
    const own = await startTestServer({}, log);
    try {
      const attempts: [Credentials, string][] = [
        [{ ...ALICE, password: "not-wonderland" }, "integrity check failed"],
        [{ ...ALICE, username: "mallory" }, "unknown or expired username"],
      ];
      for (const [credentials] of attempts) {
        const client = await SocketTurnClient.udp(at(own, "udp"), credentials);
        expect(errorCode(await client.request(Method.Allocate, [UDP]))).toBe(401);
        client.close();
      }
      const fine = await SocketTurnClient.udp(at(own, "udp"), ALICE);
      expect((await fine.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
      fine.close();
      const rejected = log.records.filter((record) => record.msg === "credential rejected");
      expect(rejected.map((record) => [record.level, record.obj])).toEqual(
        attempts.map(([credentials, reason]) => ["info", expect.objectContaining({ reason, username: credentials.username, client: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as string })]),
      );
      expect(JSON.stringify(log.records)).not.toContain("wonderland");
    } finally {
      await own.close();
    }
  });
});

describe("relay ports, external-ip and the default peer policy on a live server", () => {
  it("answers 508 when min-port..max-port is exhausted, and allocates again once the port frees", async () => {
    const port = await freePort();
    const server = await startTestServer({ minPort: port, maxPort: port, users: ["alice:wonderland", "bob:builder"] });
    try {
      const first = await SocketTurnClient.udp(at(server, "udp"), ALICE);
      const relayed = getAttribute(await first.request(Method.Allocate, [UDP]), "XOR-RELAYED-ADDRESS");
      expect(relayed?.port).toBe(port);
      const second = await SocketTurnClient.udp(at(server, "udp"), { ...ALICE, username: "bob", password: "builder" });
      expect(errorCode(await second.request(Method.Allocate, [UDP]))).toBe(508);
      await first.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }]);
      expect(getAttribute(await second.request(Method.Allocate, [UDP]), "XOR-RELAYED-ADDRESS")?.port).toBe(port);
      first.close();
      second.close();
    } finally {
      await server.close();
    }
  });

  it("reports the external-ip in XOR-RELAYED-ADDRESS while relaying on the local address", async () => {
    const server = await startTestServer({ externalIps: [{ public: "203.0.113.7", private: "127.0.0.1" }] });
    try {
      const client = await SocketTurnClient.udp(at(server, "udp"), ALICE);
      const relayed = getAttribute(await client.request(Method.Allocate, [UDP]), "XOR-RELAYED-ADDRESS");
      expect(relayed?.address).toBe("203.0.113.7");
      client.close();
    } finally {
      await server.close();
    }
  });

  it("denies loopback peers by default (403), and our own listening port even when loopback is allowed", async () => {
    const strict = await startTestServer({ allowLoopbackPeers: false });
    const lab = await startTestServer({ allowLoopbackPeers: true });
    try {
      const client = await SocketTurnClient.udp(at(strict, "udp"), ALICE);
      await client.request(Method.Allocate, [UDP]);
      const loopback = { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "127.0.0.1", port: 5000 } } as const;
      expect(errorCode(await client.request(Method.CreatePermission, [loopback]))).toBe(403);
      client.close();

      const labClient = await SocketTurnClient.udp(at(lab, "udp"), ALICE);
      await labClient.request(Method.Allocate, [UDP]);
      const own = { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "127.0.0.1", port: at(lab, "udp").port } } as const;
      expect(errorCode(await labClient.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, own]))).toBe(403);
      labClient.close();
    } finally {
      await strict.close();
      await lab.close();
    }
  });

  it.each([1, 2])(
    "relayThreads %i: external-ip at our UDP, TCP, TLS or API port is our own endpoint (403); its relay ports are peers, its other ports this host's services (403)",
    async (relayThreads) => {
      const certificate = makeSelfSignedCertificate();
      const server = await startTestServer({
        relayThreads,
        // Behind a hairpinning NAT, a packet to the public address at one of our ports comes back to us.
        externalIps: [{ public: "9.9.9.9", private: "127.0.0.1" }, { public: "9.9.9.10" }],
        noApi: false,
        apiListeningPort: 0,
        cert: certificate.certPath,
        pkey: certificate.keyPath,
        tlsListeningPort: 0,
      });
      try {
        const ours = [at(server, "udp").port, at(server, "tcp").port, at(server, "tls").port, server.api!.port];
        const client = await SocketTurnClient.udp(at(server, "udp"), ALICE);
        await client.request(Method.Allocate, [UDP]);
        let channel = 0x4000;
        const bind = async (address: string, port: number) =>
          client.request(Method.ChannelBind, [
            { name: "CHANNEL-NUMBER", value: channel++ },
            { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address, port } },
          ]);
        for (const address of ["9.9.9.9", "9.9.9.10"]) {
          for (const port of ours) expect(errorCode(await bind(address, port)), `${address}:${port}`).toBe(403);
        }
        // A ChannelBind sends nothing: binding another port of the public address leaves the machine silent.
        // A relay port there is another allocation's relayed address; any other port, a service of this host.
        let relayPort = 50000;
        while (ours.includes(relayPort)) relayPort++;
        for (const address of ["9.9.9.9", "9.9.9.10"]) {
          expect((await bind(address, relayPort)).messageClass, `${address}:${relayPort}`).toBe(MessageClass.SuccessResponse);
          for (const port of [53, 161, 49151]) expect(errorCode(await bind(address, port)), `${address}:${port}`).toBe(403);
        }
        client.close();
      } finally {
        await server.close();
        certificate.remove();
      }
    },
  );
});

describe("this host's addresses, read again while running", () => {
  it("fails a start that cannot read them, before any socket opens", async () => {
    const config = configFromObject({ noApi: true, listeningIps: ["127.0.0.1"], listeningPort: 0, users: ["alice:wonderland"], relayThreads: 1 });
    const read = () => {
      throw new Error("getifaddrs failed");
    };
    await expect(startServer(config, { logger: createRecordingLogger(), inProcess: true, hostInterfaces: { read, refreshMs: 20 } })).rejects.toThrow("getifaddrs failed");
  });

  it("refuses the services of an address added after the start, within the refresh, and lets it go once removed", async () => {
    const lo: NetworkInterfaceInfo = { address: "127.0.0.1", netmask: "255.0.0.0", family: "IPv4", mac: "00:00:00:00:00:00", internal: true, cidr: "127.0.0.1/8" };
    // A public address (loopback ones are never host services: allow-loopback-peers rules them).
    const vip: NetworkInterfaceInfo = { ...lo, address: "9.9.9.11", netmask: "255.255.255.255", internal: false, cidr: "9.9.9.11/32" };
    let interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = { lo: [lo] };
    let unreadable = false;
    const read = () => {
      if (unreadable) throw new Error("getifaddrs failed");
      return interfaces;
    };
    const logger = createRecordingLogger();
    const server = await startServer(
      configFromObject({ noApi: true, listeningIps: ["127.0.0.1"], listeningPort: 0, realm: "example.org", users: ["alice:wonderland"], allowLoopbackPeers: true, relayThreads: 1 }),
      { logger, inProcess: true, hostInterfaces: { read, refreshMs: 20 } },
    );
    const client = await SocketTurnClient.udp(at(server, "udp"), ALICE);
    try {
      await client.request(Method.Allocate, [UDP]);
      let channel = 0x4000;
      let port = 100;
      // ChannelBind sends nothing, so binding a port no service listens on is harmless; each asks a new port.
      const bindVip = async (relayRange = false) =>
        errorCode(
          await client.request(Method.ChannelBind, [
            { name: "CHANNEL-NUMBER", value: channel++ },
            { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: vip.address, port: relayRange ? 50000 + port++ : port++ } },
          ]),
        );
      const becomes = async (code: number | undefined) => {
        for (let i = 0; i < 100; i++) {
          if ((await bindVip()) === code) return true;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return false;
      };
      expect(await bindVip()).toBeUndefined();
      interfaces = { lo: [lo], eth0: [vip] };
      expect(await becomes(403)).toBe(true);
      expect(await bindVip(true), "a relay port of this host is a peer").toBeUndefined();
      expect(logger.records.some((r) => r.msg === "this host's addresses changed; the peer policy follows")).toBe(true);

      unreadable = true;
      const unreadableWarnings = () => logger.records.filter((r) => r.level === "warn" && r.msg.startsWith("cannot read this host's interface addresses")).length;
      await until(() => unreadableWarnings() > 0);
      expect(await bindVip(), "the last addresses read stay").toBe(403);
      // Ten refreshes more, still failing: said once.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unreadableWarnings()).toBe(1);
      unreadable = false;

      interfaces = { lo: [lo] };
      expect(await becomes(undefined)).toBe(true);
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe("RFC 8656 allocation options and RFC 8489 SHA-256 integrity on a live server", () => {
  it("signs with MESSAGE-INTEGRITY-SHA256 and a SHA-256 key when the client does (RFC 8489 §9.2)", async () => {
    const server = await startTestServer({});
    try {
      const client = await SocketTurnClient.udp(at(server, "udp"), ALICE, "sha256");
      const response = await client.request(Method.Allocate, [UDP]);
      expect(response.messageClass).toBe(MessageClass.SuccessResponse);
      expect(verifyMessageIntegritySha256(response, client.builder.key)).toBe(true);
      expect(getAttribute(response, "MESSAGE-INTEGRITY")).toBeUndefined();
      client.close();
    } finally {
      await server.close();
    }
  });

  it("signs with MESSAGE-INTEGRITY-SHA256 when the client negotiated a password algorithm, even signing with MESSAGE-INTEGRITY (RFC 8489 §9.2.4)", async () => {
    const server = await startTestServer({});
    try {
      const client = await SocketTurnClient.udp(at(server, "udp"), ALICE);
      client.builder.negotiatesMd5 = true;
      const response = await client.request(Method.Allocate, [UDP]);
      expect(response.messageClass).toBe(MessageClass.SuccessResponse);
      expect(verifyMessageIntegritySha256(response, client.builder.key)).toBe(true);
      expect(getAttribute(response, "MESSAGE-INTEGRITY")).toBeUndefined();
      // A browser's request (no password algorithm): MESSAGE-INTEGRITY, as before.
      const browser = await SocketTurnClient.udp(at(server, "udp"), ALICE);
      const plain = await browser.request(Method.Allocate, [UDP]);
      expect(verifyMessageIntegrity(plain, browser.builder.key)).toBe(true);
      expect(getAttribute(plain, "MESSAGE-INTEGRITY-SHA256")).toBeUndefined();
      client.close();
      browser.close();
    } finally {
      await server.close();
    }
  });

  it("offers username anonymity when every user is a static one, and a client that follows it allocates with USERHASH (RFC 8489 §9.2)", async () => {
    const staticOnly = await startTestServer({});
    const withSecret = await startTestServer({ useAuthSecret: true, staticAuthSecrets: ["north"] });
    try {
      const anonymous = await SocketTurnClient.udp(at(staticOnly, "udp"), ALICE, "sha256");
      anonymous.builder.followsUsernameAnonymity = true;
      const response = await anonymous.request(Method.Allocate, [UDP]);
      expect(nonceOffersUserhash(anonymous.builder.nonce!)).toBe(true);
      expect(response.messageClass).toBe(MessageClass.SuccessResponse);
      expect(verifyMessageIntegritySha256(response, anonymous.builder.key)).toBe(true);
      anonymous.close();

      // With a REST secret, a username may be one no hash can be traced back to: the bit stays off.
      const named = await SocketTurnClient.udp(at(withSecret, "udp"), ALICE);
      named.builder.followsUsernameAnonymity = true;
      expect((await named.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
      expect(nonceOffersUserhash(named.builder.nonce!)).toBe(false);
      named.close();
    } finally {
      await staticOnly.close();
      await withSecret.close();
    }
  });

  it("gives an even port for EVEN-PORT R=1 and hands the reserved next port to a RESERVATION-TOKEN", async () => {
    const server = await startTestServer({ users: ["alice:wonderland", "bob:builder"] });
    try {
      const first = await SocketTurnClient.udp(at(server, "udp"), ALICE);
      const allocated = await first.request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
      const even = getAttribute(allocated, "XOR-RELAYED-ADDRESS")!.port;
      expect(even % 2).toBe(0);
      const token = getAttribute(allocated, "RESERVATION-TOKEN")!;
      const second = await SocketTurnClient.udp(at(server, "udp"), { ...ALICE, username: "bob", password: "builder" });
      const claimed = await second.request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]);
      expect(getAttribute(claimed, "XOR-RELAYED-ADDRESS")!.port).toBe(even + 1);
      // A token is good once.
      const third = await SocketTurnClient.udp(at(server, "udp"), { ...ALICE, username: "bob", password: "builder" });
      expect(errorCode(await third.request(Method.Allocate, [UDP, { name: "RESERVATION-TOKEN", value: token }]))).toBe(508);
      for (const c of [first, second, third]) c.close();
    } finally {
      await server.close();
    }
  });

  it("counts a held EVEN-PORT reservation toward user-quota until it expires: Allocate R=1 then Refresh 0 in a loop holds no more", async () => {
    const clock = new ManualClock();
    const server = await startTestServer({ relayThreads: 1, userQuota: 5 }, createRecordingLogger(), clock);
    try {
      const client = await SocketTurnClient.udp(at(server, "udp"), ALICE);
      const portsFree = server.stats().relayPortsFree;
      let tokens = 0;
      let refused: number | undefined;
      for (let i = 0; i < 20 && refused === undefined; i++) {
        const allocated = await client.request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }]);
        if (allocated.messageClass !== MessageClass.SuccessResponse) refused = errorCode(allocated);
        else {
          tokens++;
          await client.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }]);
        }
      }
      // Four reserved ports held; the fifth Allocate would need a slot for itself and one for its reservation.
      expect(tokens).toBe(4);
      expect(refused).toBe(486);
      expect(server.stats().relayPortsFree).toBe(portsFree - 4);
      // 30 s on, the sweeper (a tick a second) drops the reservations and gives their quota back.
      clock.advance(30_000);
      expect(await until(() => server.stats().relayPortsFree === portsFree, 3000)).toBe(true);
      expect((await client.request(Method.Allocate, [UDP, { name: "EVEN-PORT", value: true }])).messageClass).toBe(MessageClass.SuccessResponse);
      client.close();
    } finally {
      await server.close();
    }
  });

  it("allocates an IPv4 and an IPv6 relayed address for ADDITIONAL-ADDRESS-FAMILY, and relays to an IPv6 peer", async () => {
    const server = await startTestServer({ listeningIps: ["127.0.0.1", "::1"] });
    const peer6 = await startEchoPeer("::1");
    try {
      const client = await SocketTurnClient.udp(at(server, "udp"), ALICE);
      const response = await client.request(Method.Allocate, [UDP, { name: "ADDITIONAL-ADDRESS-FAMILY", value: 2 }]);
      const relayed = getAttributes(response, "XOR-RELAYED-ADDRESS");
      expect(relayed.map((r) => `${r.family} ${r.address}`)).toEqual(["IPv4 127.0.0.1", "IPv6 ::1"]);
      const peer = { family: "IPv6", address: "::1", port: peer6.port } as const;
      await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4006 }, { name: "XOR-PEER-ADDRESS", value: peer }]);
      client.send(channelData(0x4006, Buffer.from("over v6")));
      const echoed = await client.next((f) => f[0] === 0x40);
      expect(echoed?.subarray(4).toString()).toBe("over v6");
      client.close();
    } finally {
      await peer6.close();
      await server.close();
    }
  });

  it("answers 440 for REQUESTED-ADDRESS-FAMILY IPv6 when the server has no IPv6 address", async () => {
    const server = await startTestServer({ listeningIps: ["127.0.0.1"] });
    try {
      const client = await SocketTurnClient.udp(at(server, "udp"), ALICE);
      expect(errorCode(await client.request(Method.Allocate, [UDP, { name: "REQUESTED-ADDRESS-FAMILY", value: 2 }]))).toBe(440);
      client.close();
    } finally {
      await server.close();
    }
  });
});

describe("allocation-default-address-family on a live server", () => {
  it.each([
    ["ipv4", ["IPv4", "IPv4"]],
    ["ipv6", ["IPv6", "IPv6"]],
    ["keep", ["IPv4", "IPv6"]],
  ] as const)("%s: the relay family of an Allocate that names none, from a client on 127.0.0.1 and one on ::1", async (family, expected) => {
    const server = await startTestServer({ listeningIps: ["127.0.0.1", "::1"], relayThreads: 1, allocationDefaultAddressFamily: family });
    try {
      const families: string[] = [];
      for (const address of ["127.0.0.1", "::1"]) {
        const port = server.listeners.find((listener) => listener.transport === "udp" && listener.address === address)!.port;
        const client = await SocketTurnClient.udp({ address, port }, ALICE);
        const response = await client.request(Method.Allocate, [UDP]);
        families.push(getAttribute(response, "XOR-RELAYED-ADDRESS")!.family);
        client.close();
      }
      expect(families).toEqual(expected);
    } finally {
      await server.close();
    }
  });
});

describe("unauthorized-ratelimit on a live server", () => {
  /** Sends 10,000 unauthenticated Allocates from 200 ports of 127.0.0.1; resolves with how many were answered. */
  async function flood(server: RunningServer): Promise<{ answers: number }> {
    const sockets = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const socket = dgram.createSocket("udp4");
        await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
        return socket;
      }),
    );
    let answers = 0;
    for (const socket of sockets) socket.on("message", () => answers++);
    try {
      const target = at(server, "udp");
      // Allocate request, REQUESTED-TRANSPORT UDP, no credentials: a 401 each, if answered.
      const allocate = Buffer.from("00030008" + "2112a442" + "00".repeat(12) + "00190004" + "11000000", "hex");
      for (let round = 0; round < 50; round++) {
        for (const socket of sockets) {
          allocate.writeUInt32BE(Math.floor(Math.random() * 2 ** 32), 8);
          socket.send(allocate, target.port, target.address);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { answers };
    } finally {
      for (const socket of sockets) socket.close();
    }
  }

  it("answers 10,000 unauthenticated Allocates from 200 ports of one address far fewer than 10,000 times, keeping no state", async () => {
    const server = await startTestServer({ relayThreads: 1 });
    try {
      // After full collections: what the server keeps, not the garbage the flood left (a scavenge may or may not have run).
      const heapBefore = retainedHeapBytes();
      const { answers } = await flood(server);
      const heapGrowth = retainedHeapBytes() - heapBefore;
      expect(answers).toBeGreaterThan(50);
      expect(answers).toBeLessThan(600); // a burst of 200, then 20 a second
      // What it held back is counted (loopback may lose a few of the 10,000 on its own).
      expect(server.stats().unauthenticatedAnswersDropped).toBeGreaterThan(5000);
      expect(server.stats().unauthenticatedAnswersDropped).toBeLessThanOrEqual(10_000 - answers);
      expect(heapGrowth).toBeLessThan(2 * 1024 * 1024);
      expect(server.stats().allocations).toBe(0);
      // Only answers to unauthenticated requests are limited: a Binding from the same address is answered.
      const other = await SocketTurnClient.udp(at(server, "udp"), ALICE);
      expect((await other.request(Method.Binding)).messageClass).toBe(MessageClass.SuccessResponse);
      other.close();
    } finally {
      await server.close();
    }
  });

  it("does not hurt a load test of a few dozen clients behind one address: 60 at once all allocate", async () => {
    const server = await startTestServer({ relayThreads: 1, userQuota: 100 });
    try {
      const clients = await Promise.all(Array.from({ length: 60 }, () => SocketTurnClient.udp(at(server, "udp"), ALICE)));
      const responses = await Promise.all(clients.map((c) => c.request(Method.Allocate, [UDP])));
      expect(responses.filter((r) => r.messageClass === MessageClass.SuccessResponse)).toHaveLength(60);
      for (const c of clients) c.close();
    } finally {
      await server.close();
    }
  });

  it("answers several times more of them with unauthorized-ratelimit=false: the limit is what held them back", async () => {
    const server = await startTestServer({ relayThreads: 1, unauthorizedRatelimit: false });
    try {
      // Loopback UDP drops some of a flood on its own; the point is the order of magnitude.
      expect((await flood(server)).answers).toBeGreaterThan(1000);
      expect(server.stats().unauthenticatedAnswersDropped).toBe(0);
    } finally {
      await server.close();
    }
  });
});

describe("certificates across reloads", () => {
  it("keeps the certificate last applied while TLS turned off waits for a restart, and reads no file it no longer names", async () => {
    const [first, renewed] = [makeSelfSignedCertificate(), makeSelfSignedCertificate()];
    const base = { noApi: true, relayThreads: 1, listeningIps: ["127.0.0.1"], listeningPort: 0, tlsListeningPort: 0, realm: "example.org", users: ["alice:pw"] };
    const logger = createRecordingLogger();
    const server = await startServer(configFromObject({ ...base, cert: first.certPath, pkey: first.keyPath }), { logger, inProcess: true });
    try {
      const port = server.listeners.find((listener) => listener.transport === "tls")!.port;
      const renewedFingerprint = new X509Certificate(renewed.cert).fingerprint256;
      await server.reload(configFromObject({ ...base, cert: renewed.certPath, pkey: renewed.keyPath }));
      expect(await servedFingerprint(port)).toBe(renewedFingerprint);
      // TLS off is kept until a restart: the renewed certificate goes on serving, not the first one.
      await server.reload(configFromObject({ ...base, noTls: true }));
      expect(await servedFingerprint(port)).toBe(renewedFingerprint);
      expect(logger.records.filter((record) => record.msg.startsWith("these options changed")).at(-1)?.obj["options"]).toEqual(["no-tls", "cert", "pkey"]);
      // The first certificate's files are gone: a reload that only adds a user still goes through.
      first.remove();
      await server.reload(configFromObject({ ...base, noTls: true, users: ["alice:pw", "bob:pw"] }));
      expect(await servedFingerprint(port)).toBe(renewedFingerprint);
    } finally {
      await server.close();
      first.remove();
      renewed.remove();
    }
  });

  it("reads no api-cert file once a reload no longer names one (HTTPS off, kept until the restart)", async () => {
    const api = makeSelfSignedCertificate();
    const base = { relayThreads: 1, listeningIps: ["127.0.0.1"], listeningPort: 0, apiListeningIp: "127.0.0.1", apiListeningPort: 0, apiKeys: ["k".repeat(32)], realm: "example.org", users: ["alice:pw"] };
    const logger = createRecordingLogger();
    const server = await startServer(configFromObject({ ...base, apiCert: api.certPath, apiPkey: api.keyPath }), { logger, inProcess: true });
    try {
      await server.reload(configFromObject(base));
      expect(logger.records.filter((record) => record.msg.startsWith("these options changed")).at(-1)?.obj["options"]).toEqual(["api-cert", "api-pkey"]);
      api.remove();
      await server.reload(configFromObject({ ...base, users: ["alice:pw", "bob:pw"] }));
      expect(server.api?.tls).toBe(true);
    } finally {
      await server.close();
      api.remove();
    }
  });
});
