// The one place that decides whether a relay may reach a peer address (RFC 8656 §21.3: a TURN server
// must not become a way into the networks behind it). Deny by default; everything is precomputed here
// so that a CreatePermission, ChannelBind or Send costs one address parse and a few comparisons.

import { formatIp, type IpFamily } from "../stun/address.js";
import { ipToBigInt, parseIpRange, type IpRange, type IpValue } from "./ip-range.js";

export interface PeerPolicyOptions {
  /** `allow-loopback-peers`: 127.0.0.0/8 and ::1 become reachable (tests, labs). */
  readonly allowLoopbackPeers: boolean;
  /** `allowed-peer-ip`: exceptions to the default table, to loopback and to denied-peer-ip. */
  readonly allowedPeerRanges: readonly IpRange[];
  /** `denied-peer-ip`. */
  readonly deniedPeerRanges: readonly IpRange[];
  /** Our listening, API and metrics sockets, as bound (numeric address, real port) and as external-ip reaches them: always denied. */
  readonly ownEndpoints: readonly { readonly address: string; readonly port: number }[];
  /**
   * This host's own addresses (its interfaces', relay-ip, listening-ip, external-ip), loopback aside
   * (allow-loopback-peers decides that). At one of them only the relay ports are peers: another
   * allocation's relayed address, as two clients relaying to each other through this server reach
   * it. Any other port there is a service of this host, reached over its loopback, past a firewall
   * on its public interface (an snmpd or a DNS resolver bound to every address). An allowed-peer-ip
   * of that one address overrides it (a media server on this host).
   */
  readonly hostAddresses?: readonly string[];
  /** min-port..max-port. */
  readonly relayPorts?: { readonly min: number; readonly max: number };
}

export interface PeerPolicy {
  /** Send, ChannelBind, ChannelData: the address rules and the own-endpoint rule for this port. */
  isPeerAllowed(address: string, port: number): boolean;
  /** CreatePermission (RFC 8656 §9: permissions are per IP address): the address rules only. */
  isPeerAddressAllowed(address: string): boolean;
  /**
   * Send indications, per packet: the port rules only (a valid port, not one of our own endpoints nor
   * a service of this host), for an address that holds a permission, so already passed
   * isPeerAddressAllowed under this policy (a policy change removes the permissions it no longer
   * allows). The address text is as the codec formats a decoded one.
   */
  isPermittedPeerPortAllowed(address: string, port: number): boolean;
  /** Whether address:port is a service of this host (rule 1b), to tell the operator why a peer was refused; never per packet. */
  isHostService(address: string, port: number): boolean;
}

export interface DefaultDeniedRange {
  readonly range: IpRange;
  readonly reason: string;
}

function deny(text: string, reason: string): DefaultDeniedRange {
  return { range: parseIpRange(text), reason };
}

/**
 * Denied unless allowed-peer-ip covers them: the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (RFC 6890), plus private, shared, multicast and reserved space that is never a public WebRTC peer.
 * Addresses that embed an IPv4 address (mapped, translated, compatible, NAT64, 6to4, Teredo) are decided by
 * their IPv6 range as a whole, never by the IPv4 address inside (only the own-endpoint check unwraps
 * ::ffff:a.b.c.d).
 */
export const DEFAULT_DENIED_RANGES: readonly DefaultDeniedRange[] = [
  // IANA IPv4 Special-Purpose Address Registry
  deny("0.0.0.0/8", "\"this network\"; 0.0.0.0 is the unspecified address (RFC 791, RFC 1122 §3.2.1.3)"),
  deny("10.0.0.0/8", "private-use (RFC 1918)"),
  deny("100.64.0.0/10", "shared address space, carrier-grade NAT (RFC 6598)"),
  deny("127.0.0.0/8", "loopback (RFC 1122 §3.2.1.3); reachable only with allow-loopback-peers"),
  deny("169.254.0.0/16", "link-local, including the 169.254.169.254 cloud metadata service (RFC 3927)"),
  deny("172.16.0.0/12", "private-use (RFC 1918)"),
  deny("192.0.0.0/24", "IETF protocol assignments (RFC 6890 §2.1)"),
  deny("192.0.2.0/24", "documentation, TEST-NET-1 (RFC 5737)"),
  deny("192.88.99.0/24", "6to4 relay anycast, deprecated (RFC 7526)"),
  deny("192.168.0.0/16", "private-use (RFC 1918)"),
  deny("198.18.0.0/15", "benchmarking (RFC 2544)"),
  deny("198.51.100.0/24", "documentation, TEST-NET-2 (RFC 5737)"),
  deny("203.0.113.0/24", "documentation, TEST-NET-3 (RFC 5737)"),
  deny("224.0.0.0/4", "multicast (RFC 5771)"),
  deny("240.0.0.0/4", "reserved (RFC 1112 §4)"),
  deny("255.255.255.255", "limited broadcast (RFC 919, RFC 8190)"),
  // IANA IPv6 Special-Purpose Address Registry
  deny("::/128", "unspecified address (RFC 4291 §2.5.2)"),
  deny("::1/128", "loopback (RFC 4291 §2.5.3); reachable only with allow-loopback-peers"),
  deny("::ffff:0:0/96", "IPv4-mapped, including ::ffff:127.0.0.1 (RFC 4291 §2.5.5.2)"),
  deny("::/96", "IPv4-compatible, deprecated (RFC 4291 §2.5.5.1)"),
  deny("::/8", "reserved by the IETF (RFC 4291), e.g. IPv4-translated ::ffff:0:a.b.c.d (RFC 2765 §2.1)"),
  deny("64:ff9b::/96", "NAT64 well-known prefix (RFC 6052)"),
  deny("64:ff9b:1::/48", "NAT64 local-use prefix (RFC 8215)"),
  deny("100::/64", "discard-only (RFC 6666)"),
  deny("100:0:0:1::/64", "dummy prefix (RFC 9780)"),
  // All of it: its globally reachable parts are anycast services (PCP, TURN, AMT, AS112) or identifiers (ORCHIDv2, DETs), not peers.
  deny("2001::/23", "IETF protocol assignments, including ORCHID and ORCHIDv2 (RFC 2928, RFC 7343)"),
  deny("2001::/32", "Teredo (RFC 4380)"),
  deny("2001:2::/48", "benchmarking (RFC 5180)"),
  deny("2001:db8::/32", "documentation (RFC 3849)"),
  deny("2002::/16", "6to4 (RFC 3056)"),
  deny("3fff::/20", "documentation (RFC 9637)"),
  deny("5f00::/16", "SRv6 segment identifiers (RFC 9602)"),
  deny("fc00::/7", "unique-local (RFC 4193)"),
  deny("fe80::/10", "link-local (RFC 4291 §2.5.6)"),
  deny("fec0::/10", "site-local, deprecated (RFC 3879)"),
  deny("ff00::/8", "multicast (RFC 4291 §2.7)"),
];

type RangesByFamily = Readonly<Record<IpFamily, readonly IpRange[]>>;

function groupByFamily(ranges: readonly IpRange[]): RangesByFamily {
  return {
    IPv4: ranges.filter((range) => range.family === "IPv4"),
    IPv6: ranges.filter((range) => range.family === "IPv6"),
  };
}

const DEFAULT_DENIED = groupByFamily(DEFAULT_DENIED_RANGES.map((entry) => entry.range));

function isInAny(ranges: readonly IpRange[], value: bigint): boolean {
  for (const range of ranges) {
    if (value >= range.first && value <= range.last) return true;
  }
  return false;
}

const IPV4_LOOPBACK_FIRST = 0x7f000000n;
const IPV4_LOOPBACK_LAST = 0x7fffffffn;
const IPV4_MAPPED_PREFIX = 0xffffn; // ::ffff:0:0/96, the 96 bits above the IPv4 address

/** Only the plain forms: 127.0.0.0/8 and ::1. ::ffff:127.0.0.1 stays with the default table. */
function isLoopback(ip: IpValue): boolean {
  if (ip.family === "IPv4") return ip.value >= IPV4_LOOPBACK_FIRST && ip.value <= IPV4_LOOPBACK_LAST;
  return ip.value === 1n;
}

/** ::ffff:a.b.c.d -> a.b.c.d; a socket reached either way is the same socket. */
function unmapIpv4(ip: IpValue): IpValue {
  if (ip.family === "IPv6" && ip.value >> 32n === IPV4_MAPPED_PREFIX) {
    return { family: "IPv4", value: ip.value & 0xffffffffn };
  }
  return ip;
}

/** What we listen on at one port. */
interface OwnPort {
  /** Bound to 0.0.0.0 or ::: every address of the host reaches it, and we cannot list them all. */
  anyAddress: boolean;
  readonly addresses: Record<IpFamily, Set<bigint>>;
}

function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 0xffff;
}

function indexOwnEndpoints(endpoints: PeerPolicyOptions["ownEndpoints"]): ReadonlyMap<number, OwnPort> {
  const byPort = new Map<number, OwnPort>();
  for (const { address, port } of endpoints) {
    const parsed = ipToBigInt(address);
    if (parsed === undefined) throw new Error(`own endpoint ${JSON.stringify(address)} is not a numeric IP address`);
    if (!isValidPort(port)) throw new Error(`own endpoint ${address} has no bound port (${port})`);
    const ip = unmapIpv4(parsed);
    let own = byPort.get(port);
    if (own === undefined) {
      own = { anyAddress: false, addresses: { IPv4: new Set(), IPv6: new Set() } };
      byPort.set(port, own);
    }
    if (ip.value === 0n) own.anyAddress = true;
    own.addresses[ip.family].add(ip.value);
  }
  return byPort;
}

/** The host's addresses, as values and as the text a decoded XOR-PEER-ADDRESS gives (both forms of an IPv4 one). */
interface HostAddresses {
  readonly values: Record<IpFamily, Set<bigint>>;
  readonly texts: Set<string>;
}

function indexHostAddresses(addresses: readonly string[]): HostAddresses {
  const host: HostAddresses = { values: { IPv4: new Set(), IPv6: new Set() }, texts: new Set() };
  for (const address of addresses) {
    const parsed = ipToBigInt(address);
    if (parsed === undefined) throw new Error(`host address ${JSON.stringify(address)} is not a numeric IP address`);
    const ip = unmapIpv4(parsed);
    if (isLoopback(ip) || ip.value === 0n) continue;
    host.values[ip.family].add(ip.value);
    host.texts.add(formatIp(bytesOf(ip)));
    if (ip.family === "IPv4") host.texts.add(formatIp(bytesOf({ family: "IPv6", value: (IPV4_MAPPED_PREFIX << 32n) | ip.value })));
  }
  return host;
}

function bytesOf(ip: IpValue): Uint8Array {
  const bytes = new Uint8Array(ip.family === "IPv4" ? 4 : 16);
  let value = ip.value;
  for (let i = bytes.length - 1; i >= 0; i--, value >>= 8n) bytes[i] = Number(value & 0xffn);
  return bytes;
}

/**
 * Decision order, first match wins:
 * 0. port 0 or out of range, or address text that is not a numeric IP address -> deny;
 * 1. one of our own endpoints -> deny, whatever else is configured. An endpoint bound to 0.0.0.0 or ::
 *    matches every address on its port; a peer at 0.0.0.0 or :: matches every endpoint on its port;
 *    ::ffff:a.b.c.d is compared as a.b.c.d;
 * 1b. one of this host's own addresses (hostAddresses), at a port outside the relay ports, unless an
 *    allowed-peer-ip is that one address -> deny (CreatePermission, which has no port, is not refused for it);
 * 2. in allowed-peer-ip -> allow;
 * 3. in denied-peer-ip -> deny;
 * 4. 127.0.0.0/8 or ::1 -> allow only with allow-loopback-peers;
 * 5. in DEFAULT_DENIED_RANGES -> deny;
 * 6. otherwise allow.
 * Ranges match the address as written: ::ffff:10.0.0.1 is matched by IPv6 ranges, never by 10.0.0.0/8.
 */
export function createPeerPolicy(options: PeerPolicyOptions): PeerPolicy {
  const ownPorts = indexOwnEndpoints(options.ownEndpoints);
  const allowed = groupByFamily(options.allowedPeerRanges);
  const deniedByOperator = groupByFamily(options.deniedPeerRanges);
  const { allowLoopbackPeers } = options;
  const host = indexHostAddresses(options.hostAddresses ?? []);
  const relayMin = options.relayPorts?.min ?? 0;
  const relayMax = options.relayPorts?.max ?? 0xffff;

  // allowed-peer-ip lets a host service through only when it names the address alone: a range that
  // covers it (10.0.0.0/8 for media servers on the private network) does not open the host's own ports.
  const allowedHosts = groupByFamily(options.allowedPeerRanges.filter((range) => range.first === range.last));

  /** A service of this host, not a relayed address: this host's address, a port no relay socket has. */
  function isHostService(ip: IpValue, port: number): boolean {
    if (port >= relayMin && port <= relayMax) return false;
    const target = unmapIpv4(ip);
    return host.values[target.family].has(target.value) && !isInAny(allowedHosts[target.family], target.value);
  }

  function isOwnEndpoint(ip: IpValue, port: number): boolean {
    const own = ownPorts.get(port);
    if (own === undefined) return false;
    const target = unmapIpv4(ip);
    // Sending to the unspecified address reaches the local host (Linux treats it as loopback).
    return own.anyAddress || target.value === 0n || own.addresses[target.family].has(target.value);
  }

  function isAddressAllowed(ip: IpValue): boolean {
    if (isInAny(allowed[ip.family], ip.value)) return true;
    if (isInAny(deniedByOperator[ip.family], ip.value)) return false;
    if (isLoopback(ip)) return allowLoopbackPeers;
    return !isInAny(DEFAULT_DENIED[ip.family], ip.value);
  }

  return {
    isPeerAllowed(address: string, port: number): boolean {
      if (!isValidPort(port)) return false;
      const ip = ipToBigInt(address);
      if (ip === undefined) return false;
      if (isOwnEndpoint(ip, port) || isHostService(ip, port)) return false;
      return isAddressAllowed(ip);
    },
    isPeerAddressAllowed(address: string): boolean {
      const ip = ipToBigInt(address);
      return ip !== undefined && isAddressAllowed(ip);
    },
    isHostService(address: string, port: number): boolean {
      const ip = ipToBigInt(address);
      return ip !== undefined && isHostService(ip, port);
    },
    isPermittedPeerPortAllowed(address: string, port: number): boolean {
      if (!isValidPort(port)) return false;
      // Most peers are neither at our ports nor at a service of this host: no need to parse the address.
      if (!ownPorts.has(port) && ((port >= relayMin && port <= relayMax) || !host.texts.has(address))) return true;
      const ip = ipToBigInt(address);
      return ip !== undefined && !isOwnEndpoint(ip, port) && !isHostService(ip, port);
    },
  };
}
