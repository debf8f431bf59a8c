// IP address ranges for allowed-peer-ip / denied-peer-ip (coturn's syntax, plus CIDR).
// Addresses are numbers: IPv4 as a 32-bit value, IPv6 as a 128-bit value, both held in a bigint,
// so that "2001:0db8:0000::1" and "2001:db8::1" are one address and ranges compare numerically.

import { formatIp, parseIp, type IpFamily } from "../stun/address.js";

/** An inclusive range of addresses of one family: [first, last], first <= last. */
export interface IpRange {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
}

export interface IpValue {
  readonly family: IpFamily;
  readonly value: bigint;
}

export const IP_BITS = { IPv4: 32, IPv6: 128 } as const satisfies Record<IpFamily, number>;

const PREFIX_LENGTH = /^(?:0|[1-9][0-9]{0,2})$/;

/** IPv4 or IPv6 text -> its numeric value; undefined for anything parseIp refuses (names, zone ids, garbage). */
export function ipToBigInt(text: string): IpValue | undefined {
  const parsed = parseIp(text);
  if (parsed === undefined) return undefined;
  const { bytes } = parsed;
  if (parsed.family === "IPv4") return { family: "IPv4", value: BigInt(readUint32(bytes, 0)) };
  const value =
    (BigInt(readUint32(bytes, 0)) << 96n) |
    (BigInt(readUint32(bytes, 4)) << 64n) |
    (BigInt(readUint32(bytes, 8)) << 32n) |
    BigInt(readUint32(bytes, 12));
  return { family: "IPv6", value };
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset] ?? 0) * 0x1000000 +
    (((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0))
  );
}

/** A numeric address -> the text Node prints for it (dotted quad; RFC 5952 for IPv6). */
export function formatIpValue(family: IpFamily, value: bigint): string {
  const size = family === "IPv4" ? 4 : 16;
  const bytes = new Uint8Array(size);
  let rest = value;
  for (let i = size - 1; i >= 0; i--) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return formatIp(bytes);
}

export function isInRange(range: IpRange, family: IpFamily, value: bigint): boolean {
  return range.family === family && value >= range.first && value <= range.last;
}

/**
 * "203.0.113.5", "2001:db8::1", "10.0.0.1-10.0.0.9" (spaces around "-" tolerated) or "10.0.0.0/8".
 * CIDR host bits are masked off ("10.1.2.3/8" is 10.0.0.0/8), as coturn does.
 * Throws an Error whose message is one line naming what is wrong, for the operator.
 */
export function parseIpRange(text: string): IpRange {
  const trimmed = text.trim();
  const quoted = JSON.stringify(text);
  if (trimmed === "") {
    throw new Error(`empty IP range: expected an address, a range "first-last" or a CIDR "address/length"`);
  }
  const hasSlash = trimmed.includes("/");
  const hasDash = trimmed.includes("-");
  if (hasSlash && hasDash) throw new Error(`${quoted} is not an IP range: use "first-last" or "address/length", not both`);
  if (hasSlash) return parseCidr(trimmed, quoted);
  if (hasDash) return parseDashRange(trimmed, quoted);
  const single = parseAddress(trimmed, quoted);
  return { family: single.family, first: single.value, last: single.value };
}

function parseCidr(text: string, quoted: string): IpRange {
  const parts = text.split("/");
  if (parts.length !== 2) throw new Error(`${quoted} is not a CIDR: expected exactly one "/"`);
  const address = parseAddress((parts[0] ?? "").trim(), quoted);
  const lengthText = (parts[1] ?? "").trim();
  const maxLength = IP_BITS[address.family];
  if (!PREFIX_LENGTH.test(lengthText)) {
    throw new Error(`${quoted} is not a CIDR: the prefix length must be a whole number from 0 to ${maxLength}`);
  }
  const length = Number(lengthText);
  if (length > maxLength) {
    throw new Error(`${quoted} is not a CIDR: an ${address.family} prefix length is 0 to ${maxLength}, not ${length}`);
  }
  const hostMask = (1n << BigInt(maxLength - length)) - 1n;
  const first = address.value & ~hostMask;
  return { family: address.family, first, last: first | hostMask };
}

function parseDashRange(text: string, quoted: string): IpRange {
  const parts = text.split("-");
  if (parts.length !== 2) throw new Error(`${quoted} is not an IP range: expected exactly one "-" between two addresses`);
  const first = parseAddress((parts[0] ?? "").trim(), quoted);
  const last = parseAddress((parts[1] ?? "").trim(), quoted);
  if (first.family !== last.family) {
    throw new Error(`${quoted} is not an IP range: it mixes an ${first.family} and an ${last.family} address`);
  }
  if (first.value > last.value) {
    throw new Error(`${quoted} is not an IP range: the first address is greater than the last`);
  }
  return { family: first.family, first: first.value, last: last.value };
}

function parseAddress(text: string, quoted: string): IpValue {
  if (text === "") throw new Error(`${quoted} is not an IP range: an address is missing`);
  if (text.includes("%")) {
    throw new Error(`${quoted} is not an IP range: zone ids ("%eth0") are not accepted, write the address alone`);
  }
  const parsed = ipToBigInt(text);
  if (parsed === undefined) throw new Error(`${quoted} is not an IP range: ${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
  return parsed;
}

/** For logs: "203.0.113.5", "10.0.0.0/8" when the range is a CIDR block, else "first-last". */
export function formatIpRange(range: IpRange): string {
  const first = formatIpValue(range.family, range.first);
  if (range.first === range.last) return first;
  const size = range.last - range.first + 1n;
  const hostBits = countBits(size) - 1;
  if (size === 1n << BigInt(hostBits) && (range.first & (size - 1n)) === 0n) {
    return `${first}/${IP_BITS[range.family] - hostBits}`;
  }
  return `${first}-${formatIpValue(range.family, range.last)}`;
}

function countBits(value: bigint): number {
  return value.toString(2).length;
}
