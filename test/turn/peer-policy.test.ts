import { describe, expect, it } from "vitest";
import { formatIpRange, parseIpRange } from "../../src/turn/ip-range.js";
import {
  createPeerPolicy,
  DEFAULT_DENIED_RANGES,
  type PeerPolicy,
  type PeerPolicyOptions,
} from "../../src/turn/peer-policy.js";

const PORT = 40000;

function policy(options: Partial<PeerPolicyOptions> = {}): PeerPolicy {
  return createPeerPolicy({
    allowLoopbackPeers: false,
    allowedPeerRanges: [],
    deniedPeerRanges: [],
    ownEndpoints: [],
    ...options,
  });
}

function ranges(...texts: string[]): PeerPolicyOptions["allowedPeerRanges"] {
  return texts.map(parseIpRange);
}

// One row per default-denied class: addresses inside (edges included) and the neighbours just outside
// that no other default entry covers (none when the neighbour is itself denied or off the address space).
const DEFAULT_CLASSES: readonly { range: string; inside: string[]; outside: string[] }[] = [
  { range: "0.0.0.0/8", inside: ["0.0.0.0", "0.1.2.3", "0.255.255.255"], outside: ["1.0.0.0"] },
  { range: "10.0.0.0/8", inside: ["10.0.0.0", "10.1.2.3", "10.255.255.255"], outside: ["9.255.255.255", "11.0.0.0"] },
  { range: "100.64.0.0/10", inside: ["100.64.0.0", "100.100.1.1", "100.127.255.255"], outside: ["100.63.255.255", "100.128.0.0"] },
  { range: "127.0.0.0/8", inside: ["127.0.0.0", "127.0.0.1", "127.255.255.255"], outside: ["126.255.255.255", "128.0.0.0"] },
  { range: "169.254.0.0/16", inside: ["169.254.0.0", "169.254.169.254", "169.254.255.255"], outside: ["169.253.255.255", "169.255.0.0"] },
  { range: "172.16.0.0/12", inside: ["172.16.0.0", "172.20.1.1", "172.31.255.255"], outside: ["172.15.255.255", "172.32.0.0"] },
  { range: "192.0.0.0/24", inside: ["192.0.0.0", "192.0.0.8", "192.0.0.255"], outside: ["191.255.255.255", "192.0.1.0"] },
  { range: "192.0.2.0/24", inside: ["192.0.2.0", "192.0.2.1", "192.0.2.255"], outside: ["192.0.1.255", "192.0.3.0"] },
  { range: "192.88.99.0/24", inside: ["192.88.99.0", "192.88.99.1", "192.88.99.255"], outside: ["192.88.98.255", "192.88.100.0"] },
  { range: "192.168.0.0/16", inside: ["192.168.0.0", "192.168.1.1", "192.168.255.255"], outside: ["192.167.255.255", "192.169.0.0"] },
  { range: "198.18.0.0/15", inside: ["198.18.0.0", "198.19.1.1", "198.19.255.255"], outside: ["198.17.255.255", "198.20.0.0"] },
  { range: "198.51.100.0/24", inside: ["198.51.100.0", "198.51.100.7", "198.51.100.255"], outside: ["198.51.99.255", "198.51.101.0"] },
  { range: "203.0.113.0/24", inside: ["203.0.113.0", "203.0.113.5", "203.0.113.255"], outside: ["203.0.112.255", "203.0.114.0"] },
  { range: "224.0.0.0/4", inside: ["224.0.0.0", "224.0.0.251", "239.255.255.255"], outside: ["223.255.255.255"] },
  { range: "240.0.0.0/4", inside: ["240.0.0.0", "250.1.2.3", "255.255.255.254"], outside: [] },
  { range: "255.255.255.255", inside: ["255.255.255.255"], outside: [] },
  { range: "::", inside: ["::", "0:0:0:0:0:0:0:0"], outside: [] },
  { range: "::1", inside: ["::1", "0000:0000:0000:0000:0000:0000:0000:0001"], outside: [] },
  // The rows inside ::/8 have no allowed neighbours: ::/8 covers them.
  { range: "::ffff:0.0.0.0/96", inside: ["::ffff:0.0.0.0", "::ffff:8.8.8.8", "::ffff:255.255.255.255"], outside: [] },
  { range: "::/96", inside: ["::2", "::8.8.8.8", "::ffff:ffff"], outside: [] },
  {
    range: "::/8",
    inside: ["::1:0:0", "::ffff:0:127.0.0.1", "::ffff:0:808:808", "::fffe:ffff:ffff", "0:0:0:0:1::", "::1:7f00:1", "1::1", "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: [],
  },
  { range: "64:ff9b::/96", inside: ["64:ff9b::", "64:ff9b::8.8.8.8", "64:ff9b::ffff:ffff"], outside: [] },
  { range: "64:ff9b:1::/48", inside: ["64:ff9b:1::", "64:ff9b:1::808:808", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff"], outside: [] },
  { range: "100::/64", inside: ["100::", "100::1", "100::ffff:ffff:ffff:ffff"], outside: [] },
  { range: "100:0:0:1::/64", inside: ["100:0:0:1::", "100:0:0:1::1", "100:0:0:1:ffff:ffff:ffff:ffff"], outside: ["100:0:0:2::"] },
  {
    range: "2001::/23",
    // ORCHIDv2, PCP and TURN anycast, AMT, AS112, DETs: globally reachable in the registry, but none is a peer.
    inside: ["2001::", "2001:10::1", "2001:20::1", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", "2001:1::1", "2001:1::2", "2001:3::1", "2001:4:112::1", "2001:30::1", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: ["2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:200::"],
  },
  { range: "2001::/32", inside: ["2001::", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff"], outside: ["2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff"] },
  { range: "2001:2::/48", inside: ["2001:2::", "2001:2::1", "2001:2:0:ffff:ffff:ffff:ffff:ffff"], outside: [] },
  { range: "2001:db8::/32", inside: ["2001:db8::", "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"], outside: ["2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::"] },
  { range: "2002::/16", inside: ["2002::", "2002:808:808::1", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"], outside: ["2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2003::"] },
  { range: "3fff::/20", inside: ["3fff::", "3fff::1", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff"], outside: ["3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff:1000::"] },
  { range: "5f00::/16", inside: ["5f00::", "5f00::1", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff"], outside: ["5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "5f01::"] },
  { range: "fc00::/7", inside: ["fc00::", "fd12:3456:789a::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"], outside: ["fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::"] },
  { range: "fe80::/10", inside: ["fe80::", "fe80::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"], outside: ["fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff"] },
  { range: "fec0::/10", inside: ["fec0::", "fec0::1", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"], outside: [] },
  { range: "ff00::/8", inside: ["ff00::", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"], outside: [] },
];

describe("default-denied peers (RFC 8656 §21.3; IANA special-purpose registries)", () => {
  it("the table here has one row per DEFAULT_DENIED_RANGES entry, and every entry gives a reason", () => {
    const documented = DEFAULT_DENIED_RANGES.map((entry) => formatIpRange(entry.range));
    expect(DEFAULT_CLASSES.map((row) => formatIpRange(parseIpRange(row.range)))).toEqual(documented);
    for (const entry of DEFAULT_DENIED_RANGES) expect(entry.reason).toMatch(/RFC \d+/);
  });

  describe.each(DEFAULT_CLASSES)("$range", ({ inside, outside }) => {
    const defaults = policy();
    it.each(inside)("denies %s", (address) => {
      expect(defaults.isPeerAllowed(address, PORT)).toBe(false);
    });
    if (outside.length > 0) {
      it.each(outside)("allows the neighbour %s", (address) => {
        expect(defaults.isPeerAllowed(address, PORT)).toBe(true);
      });
    }
  });

  it("denies the cloud metadata address 169.254.169.254 on port 80", () => {
    expect(policy().isPeerAllowed("169.254.169.254", 80)).toBe(false);
  });

  it.each(["8.8.8.8", "1.1.1.1", "1.0.0.1", "93.184.216.34", "2606:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::1"])(
    "allows the public address %s",
    (address) => {
      expect(policy().isPeerAllowed(address, PORT)).toBe(true);
    },
  );
});

describe("IPv4 inside IPv6 is decided by the IPv6 range, never unwrapped (RFC 8656 §21.3)", () => {
  it.each([
    ["IPv4-mapped, public", "::ffff:8.8.8.8"],
    ["IPv4-mapped, private", "::ffff:10.0.0.1"],
    ["IPv4-mapped, loopback", "::ffff:127.0.0.1"],
    ["IPv4-mapped, metadata", "::ffff:169.254.169.254"],
    ["IPv4-mapped, hex", "::ffff:a9fe:a9fe"],
    ["IPv4-translated, public", "::ffff:0:8.8.8.8"],
    ["IPv4-translated, loopback", "::ffff:0:127.0.0.1"],
    ["IPv4-translated, metadata", "::ffff:0:a9fe:a9fe"],
    ["IPv4-compatible, public", "::8.8.8.8"],
    ["IPv4-compatible, private", "::192.168.1.1"],
    ["IPv4-compatible, loopback", "::127.0.0.1"],
    ["6to4, public", "2002:808:808::1"],
    ["6to4, private", "2002:a00:1::1"],
    ["6to4, metadata", "2002:a9fe:a9fe::"],
    ["NAT64 well-known, public", "64:ff9b::8.8.8.8"],
    ["NAT64 well-known, private", "64:ff9b::10.0.0.1"],
    ["NAT64 local-use, public", "64:ff9b:1::808:808"],
    ["NAT64 local-use, private", "64:ff9b:1::c0a8:101"],
    ["Teredo, public client", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"],
    ["Teredo, private client", "2001:0:4136:e378:8000:63bf:f5ff:fffe"],
  ])("%s (%s) is denied, also with allow-loopback-peers", (_, address) => {
    expect(policy().isPeerAllowed(address, PORT)).toBe(false);
    expect(policy({ allowLoopbackPeers: true }).isPeerAllowed(address, PORT)).toBe(false);
  });

  it("allowed-peer-ip 10.0.0.0/8 does not open ::ffff:10.0.0.1; the IPv6 range must be allowed itself", () => {
    expect(policy({ allowedPeerRanges: ranges("10.0.0.0/8") }).isPeerAllowed("::ffff:10.0.0.1", PORT)).toBe(false);
    expect(policy({ allowedPeerRanges: ranges("::ffff:10.0.0.0/104") }).isPeerAllowed("::ffff:10.0.0.1", PORT)).toBe(true);
  });

  it("denied-peer-ip 8.8.8.8 does not need ::ffff:8.8.8.8 listed: the mapped form is denied by default", () => {
    expect(policy({ deniedPeerRanges: ranges("8.8.8.8") }).isPeerAllowed("::ffff:8.8.8.8", PORT)).toBe(false);
  });
});

describe("allow-loopback-peers (RFC 8656 §21.3: loopback is denied unless switched on)", () => {
  it.each([
    ["127.0.0.1", false, false],
    ["127.0.0.1", true, true],
    ["127.255.255.254", true, true],
    ["::1", false, false],
    ["::1", true, true],
    ["0:0:0:0:0:0:0:1", true, true],
    ["::ffff:127.0.0.1", true, false],
    ["::127.0.0.1", true, false],
    ["10.0.0.1", true, false],
    ["0.0.0.0", true, false],
    ["::", true, false],
  ] as const)("%s with allow-loopback-peers=%s -> allowed=%s", (address, allowLoopbackPeers, expected) => {
    expect(policy({ allowLoopbackPeers }).isPeerAllowed(address, PORT)).toBe(expected);
  });
});

describe("allowed-peer-ip and denied-peer-ip", () => {
  it("allowed-peer-ip overrides the default table", () => {
    const p = policy({ allowedPeerRanges: ranges("10.0.0.0/8", "fd00::/8", "192.168.1.10-192.168.1.20") });
    expect(p.isPeerAllowed("10.1.2.3", PORT)).toBe(true);
    expect(p.isPeerAllowed("fd12::1", PORT)).toBe(true);
    expect(p.isPeerAllowed("192.168.1.15", PORT)).toBe(true);
    expect(p.isPeerAllowed("192.168.1.21", PORT)).toBe(false);
    expect(p.isPeerAllowed("172.16.0.1", PORT)).toBe(false);
    expect(p.isPeerAllowed("fc00::1", PORT)).toBe(false);
  });

  it.each([
    ["::ffff:0:0:0/96", "::ffff:0:127.0.0.1", "::ffff:127.0.0.1"],
    ["::1:0:0/96", "::1:7f00:1", "::2:7f00:1"],
    ["2001:20::/28", "2001:20::1", "2001:10::1"],
    ["5f00:1::/32", "5f00:1::1", "5f00:2::1"],
  ])("allowed-peer-ip %s opens %s; %s stays denied", (range, opened, neighbour) => {
    expect(policy().isPeerAllowed(opened, PORT)).toBe(false);
    const p = policy({ allowedPeerRanges: ranges(range) });
    expect(p.isPeerAllowed(opened, PORT)).toBe(true);
    expect(p.isPeerAllowed(neighbour, PORT)).toBe(false);
  });

  it("allowed-peer-ip opens a loopback address without allow-loopback-peers", () => {
    const p = policy({ allowedPeerRanges: ranges("127.0.0.1") });
    expect(p.isPeerAllowed("127.0.0.1", PORT)).toBe(true);
    expect(p.isPeerAllowed("127.0.0.2", PORT)).toBe(false);
  });

  it("allowed-peer-ip overrides denied-peer-ip", () => {
    const p = policy({ deniedPeerRanges: ranges("8.8.0.0/16", "10.0.0.0/8"), allowedPeerRanges: ranges("8.8.8.8", "10.0.0.5") });
    expect(p.isPeerAllowed("8.8.8.8", PORT)).toBe(true);
    expect(p.isPeerAllowed("8.8.4.4", PORT)).toBe(false);
    expect(p.isPeerAllowed("10.0.0.5", PORT)).toBe(true);
    expect(p.isPeerAllowed("10.0.0.6", PORT)).toBe(false);
  });

  it("denied-peer-ip blocks public addresses of both families", () => {
    const p = policy({ deniedPeerRanges: ranges("1.1.1.1", "2606:4700::/32") });
    expect(p.isPeerAllowed("1.1.1.1", PORT)).toBe(false);
    expect(p.isPeerAllowed("1.0.0.1", PORT)).toBe(true);
    expect(p.isPeerAllowed("2606:4700::1111", PORT)).toBe(false);
    expect(p.isPeerAllowed("2606:4700:0000:0000:0000:0000:0000:1111", PORT)).toBe(false);
    expect(p.isPeerAllowed("2606:4701::1111", PORT)).toBe(true);
  });

  it("denied-peer-ip wins over allow-loopback-peers", () => {
    const p = policy({ allowLoopbackPeers: true, deniedPeerRanges: ranges("127.0.0.0/8") });
    expect(p.isPeerAllowed("127.0.0.1", PORT)).toBe(false);
    expect(p.isPeerAllowed("::1", PORT)).toBe(true);
  });

  it("matches IPv6 numerically, not as text", () => {
    const p = policy({ allowedPeerRanges: ranges("2001:0db8:0000::1") });
    expect(p.isPeerAllowed("2001:db8::1", PORT)).toBe(true);
    expect(p.isPeerAllowed("2001:DB8:0:0:0:0:0:1", PORT)).toBe(true);
    expect(p.isPeerAllowed("2001:db8::2", PORT)).toBe(false);
  });

  it("an IPv4 range never matches an IPv6 address with the same low bits", () => {
    const p = policy({ deniedPeerRanges: ranges("0.0.0.0/0") });
    expect(p.isPeerAllowed("8.8.8.8", PORT)).toBe(false);
    expect(p.isPeerAllowed("2606:4700::1111", PORT)).toBe(true);
  });
});

describe("our own endpoints are always denied (RFC 8656 §21.3: no relaying to the server itself)", () => {
  const everything = ranges("0.0.0.0/0", "::/0");

  it("a listener on 127.0.0.1:3478 is denied with allow-loopback-peers and allowed-peer-ip covering it", () => {
    const p = policy({ allowLoopbackPeers: true, allowedPeerRanges: everything, ownEndpoints: [{ address: "127.0.0.1", port: 3478 }] });
    expect(p.isPeerAllowed("127.0.0.1", 3478)).toBe(false);
    expect(p.isPeerAllowed("::ffff:127.0.0.1", 3478)).toBe(false);
    expect(p.isPeerAllowed("0.0.0.0", 3478)).toBe(false);
    expect(p.isPeerAllowed("::ffff:0.0.0.0", 3478)).toBe(false);
    expect(p.isPeerAllowed("::", 3478)).toBe(false);
    expect(p.isPeerAllowed("127.0.0.1", 3479)).toBe(true);
    expect(p.isPeerAllowed("127.0.0.2", 3478)).toBe(true);
  });

  it("a listener on a public address is denied on its port only", () => {
    const p = policy({ allowedPeerRanges: everything, ownEndpoints: [{ address: "93.184.216.34", port: 3478 }] });
    expect(p.isPeerAllowed("93.184.216.34", 3478)).toBe(false);
    expect(p.isPeerAllowed("::ffff:93.184.216.34", 3478)).toBe(false);
    expect(p.isPeerAllowed("93.184.216.34", 50000)).toBe(true);
  });

  it("a listener bound to 0.0.0.0 denies every address, of both families, on its port", () => {
    const p = policy({ allowLoopbackPeers: true, allowedPeerRanges: everything, ownEndpoints: [{ address: "0.0.0.0", port: 3478 }] });
    for (const address of ["127.0.0.1", "1.1.1.1", "::1", "2606:4700::1111", "10.0.0.1"]) {
      expect(p.isPeerAllowed(address, 3478)).toBe(false);
      expect(p.isPeerAllowed(address, 3479)).toBe(true);
    }
  });

  it("a metrics listener bound to :: denies every address on its port", () => {
    const p = policy({ allowLoopbackPeers: true, ownEndpoints: [{ address: "::", port: 9090 }] });
    expect(p.isPeerAllowed("127.0.0.1", 9090)).toBe(false);
    expect(p.isPeerAllowed("::1", 9090)).toBe(false);
    expect(p.isPeerAllowed("8.8.8.8", 9090)).toBe(false);
    expect(p.isPeerAllowed("8.8.8.8", 9091)).toBe(true);
  });

  it("IPv6 endpoints compare numerically, and a mapped endpoint matches its plain IPv4 form", () => {
    const p = policy({
      allowLoopbackPeers: true,
      ownEndpoints: [
        { address: "0:0:0:0:0:0:0:1", port: 8080 },
        { address: "::ffff:127.0.0.1", port: 5000 },
      ],
    });
    expect(p.isPeerAllowed("::1", 8080)).toBe(false);
    expect(p.isPeerAllowed("::1", 8081)).toBe(true);
    expect(p.isPeerAllowed("127.0.0.1", 8080)).toBe(true);
    expect(p.isPeerAllowed("127.0.0.1", 5000)).toBe(false);
  });

  it("refuses an own endpoint that is not a numeric address or has no bound port", () => {
    expect(() => policy({ ownEndpoints: [{ address: "localhost", port: 3478 }] })).toThrow(/not a numeric IP address/);
    expect(() => policy({ ownEndpoints: [{ address: "127.0.0.1", port: 0 }] })).toThrow(/no bound port/);
  });
});

describe("ports and address text", () => {
  it.each([0, -1, 65536, 1.5, Number.NaN])("port %s is denied", (port) => {
    expect(policy({ allowedPeerRanges: ranges("0.0.0.0/0") }).isPeerAllowed("8.8.8.8", port)).toBe(false);
  });

  it.each([1, 65535])("port %s is allowed", (port) => {
    expect(policy().isPeerAllowed("8.8.8.8", port)).toBe(true);
  });

  it.each(["", "localhost", "example.com", "8.8.8.8:53", "[2606:4700::1111]", "fe80::1%eth0", "08.8.8.8", " 8.8.8.8", "8.8.8", "::g"])(
    "unparseable peer address %j is denied",
    (address) => {
      expect(policy({ allowLoopbackPeers: true, allowedPeerRanges: ranges("0.0.0.0/0", "::/0") }).isPeerAllowed(address, PORT)).toBe(false);
    },
  );
});

describe("isPeerAddressAllowed: the CreatePermission check (RFC 8656 §9: permissions are per IP address)", () => {
  const policy = createPeerPolicy({
    allowLoopbackPeers: true,
    allowedPeerRanges: [],
    deniedPeerRanges: [parseIpRange("203.0.113.0/24")],
    ownEndpoints: [{ address: "127.0.0.1", port: 3478 }],
  });

  it("allows an own endpoint's address (the port rule applies when data is sent, not here)", () => {
    expect(policy.isPeerAddressAllowed("127.0.0.1")).toBe(true);
    expect(policy.isPeerAllowed("127.0.0.1", 3478)).toBe(false);
  });

  it.each(["10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "fe80::1", "203.0.113.9", "not-an-ip", ""])(
    "applies the same address rules as isPeerAllowed: %s is denied",
    (address) => {
      expect(policy.isPeerAddressAllowed(address)).toBe(false);
    },
  );

  it("allows public addresses of both families", () => {
    expect(policy.isPeerAddressAllowed("8.8.8.8")).toBe(true);
    expect(policy.isPeerAddressAllowed("2606:4700::1111")).toBe(true);
  });
});

describe("isPermittedPeerPortAllowed: the per-packet check for Send indications", () => {
  const policy = createPeerPolicy({
    allowLoopbackPeers: true,
    allowedPeerRanges: [],
    deniedPeerRanges: [],
    ownEndpoints: [
      { address: "127.0.0.1", port: 3478 },
      { address: "::", port: 5349 },
    ],
  });

  it("denies our own endpoints, by address and port, as isPeerAllowed does", () => {
    expect(policy.isPermittedPeerPortAllowed("127.0.0.1", 3478)).toBe(false);
    expect(policy.isPermittedPeerPortAllowed("::ffff:127.0.0.1", 3478)).toBe(false);
    expect(policy.isPermittedPeerPortAllowed("2001:db8::1", 5349)).toBe(false);
    expect(policy.isPermittedPeerPortAllowed("0.0.0.0", 3478)).toBe(false);
  });

  it("allows the same address on another port, and another address on our port", () => {
    expect(policy.isPermittedPeerPortAllowed("127.0.0.1", 3479)).toBe(true);
    expect(policy.isPermittedPeerPortAllowed("127.0.0.2", 3478)).toBe(true);
  });

  it.each([0, -1, 65536, 1.5])("denies port %d", (port) => {
    expect(policy.isPermittedPeerPortAllowed("127.0.0.1", port)).toBe(false);
  });
});

describe("this host's own addresses: only relay ports are peers there (a relayed address), never its other services", () => {
  const host = policy({
    allowLoopbackPeers: true,
    hostAddresses: ["44.0.0.7", "2a00:1450::7", "127.0.0.1", "::1", "45.0.0.9"],
    relayPorts: { min: 49152, max: 65535 },
    allowedPeerRanges: ranges("45.0.0.9"),
  });

  it.each([
    ["44.0.0.7", 53],
    ["44.0.0.7", 161],
    ["44.0.0.7", 49151],
    ["2a00:1450::7", 11211],
  ])("denies %s:%i, outside the relay ports, on every path that has a port", (address, port) => {
    expect(host.isPeerAllowed(address, port)).toBe(false);
    expect(host.isPermittedPeerPortAllowed(address, port)).toBe(false);
    // A permission is per address: it is not refused for it, its ports are.
    expect(host.isPeerAddressAllowed(address)).toBe(true);
  });

  it.each([
    ["44.0.0.7", 49152],
    ["44.0.0.7", 65535],
    ["2a00:1450::7", 50000],
  ])("allows %s:%i, a relay port: another allocation's relayed address on this server", (address, port) => {
    expect(host.isPeerAllowed(address, port)).toBe(true);
    expect(host.isPermittedPeerPortAllowed(address, port)).toBe(true);
  });

  it("says which refusals are for a service of this host, and only those", () => {
    expect(host.isHostService("44.0.0.7", 53)).toBe(true);
    expect(host.isHostService("44.0.0.7", 50000)).toBe(false);
    expect(host.isHostService("44.0.0.8", 53)).toBe(false);
    expect(host.isHostService("127.0.0.1", 53)).toBe(false);
  });

  it("is not opened by an allowed-peer-ip range that merely covers the address (media servers on the private network)", () => {
    const broad = policy({ hostAddresses: ["10.0.0.5"], relayPorts: { min: 49152, max: 65535 }, allowedPeerRanges: ranges("10.0.0.0/8") });
    expect(broad.isPeerAllowed("10.0.0.5", 22)).toBe(false);
    expect(broad.isPermittedPeerPortAllowed("10.0.0.5", 22)).toBe(false);
    expect(broad.isPeerAllowed("10.0.0.6", 22)).toBe(true);
    const exact = policy({ hostAddresses: ["10.0.0.5"], relayPorts: { min: 49152, max: 65535 }, allowedPeerRanges: ranges("10.0.0.0/8", "10.0.0.5") });
    expect(exact.isPeerAllowed("10.0.0.5", 10000)).toBe(true);
  });

  it("leaves loopback to allow-loopback-peers, other addresses alone, and yields to allowed-peer-ip", () => {
    expect(host.isPeerAllowed("127.0.0.1", 9)).toBe(true);
    expect(host.isPermittedPeerPortAllowed("::1", 9)).toBe(true);
    expect(host.isPeerAllowed("44.0.0.8", 53)).toBe(true);
    expect(host.isPermittedPeerPortAllowed("44.0.0.8", 53)).toBe(true);
    expect(host.isPeerAllowed("45.0.0.9", 53)).toBe(true);
  });

  it("knows an address however it is written (the per-packet check gets the codec's form)", () => {
    expect(host.isPeerAllowed("2a00:1450:0:0:0:0:0:7", 123)).toBe(false);
    expect(host.isPeerAllowed("2A00:1450::7", 123)).toBe(false);
  });

  it("knows an IPv4 address in its IPv4-mapped form too, where allowed-peer-ip lets that form through", () => {
    const mapped = policy({ hostAddresses: ["44.0.0.7"], relayPorts: { min: 49152, max: 65535 }, allowedPeerRanges: ranges("::ffff:0:0/96") });
    expect(mapped.isPeerAllowed("::ffff:44.0.0.7", 53)).toBe(false);
    expect(mapped.isPermittedPeerPortAllowed("::ffff:44.0.0.7", 53)).toBe(false);
    expect(mapped.isPeerAllowed("::ffff:44.0.0.8", 53)).toBe(true);
  });
});
