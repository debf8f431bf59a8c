import { halfSipHash3 } from "./half-siphash.js";

/**
 * Token buckets for answers to unauthenticated requests, per source, in fixed memory. A source is an
 * IPv4 address (IPv4-mapped IPv6 included) or an IPv6 /64: one IPv6 host usually holds a whole /64,
 * and counted per /128 it would get 2^64 allowances.
 *
 * A source may use one of two slots, picked by a hash keyed with a per-process secret, so no one can
 * pick an address whose slots are a victim's. Each slot remembers its source: a source whose bucket
 * is full (as good as a new one) gives up its slot to another, so two sources share a bucket only
 * when both slots of one are held by others still spending. Sharing is stricter, never looser.
 */
export interface SourceRateLimit {
  /** Takes one token for `address`'s source; false when its bucket is empty and the answer should be dropped. */
  take(address: string, nowMs: number): boolean;
}

export interface SourceRateLimitOptions {
  /** Answers allowed at once: a page opening several peer connections, a few dozen test clients. */
  readonly burst: number;
  readonly perSecond: number;
  /** A power of two, at most 65,536. */
  readonly buckets?: number;
  /** At least 8 random bytes, secret to this process: they decide which sources could share a slot. */
  readonly key: Uint8Array;
}

const SourceKind = { IPv4: 1, IPv6Prefix: 2, NotAnAddress: 3 } as const;

export function createSourceRateLimit({ burst, perSecond, buckets = 4096, key }: SourceRateLimitOptions): SourceRateLimit {
  const mask = buckets - 1;
  if ((buckets & mask) !== 0 || buckets > 0x10000) throw new Error("buckets must be a power of two, at most 65536");
  if (key.length < 8) throw new Error("the key needs at least 8 bytes");
  const key0 = readUint32LE(key, 0);
  const key1 = readUint32LE(key, 4);
  const tokens = new Float64Array(buckets).fill(burst);
  const refilledAtMs = new Float64Array(buckets);
  // Who holds each slot: kind (0: nobody) and 64 bits (an IPv4 address in the low word, or an IPv6 /64).
  const heldByKind = new Uint8Array(buckets);
  const heldByHigh = new Uint32Array(buckets);
  const heldByLow = new Uint32Array(buckets);
  const source = new Uint32Array(3);

  const available = (slot: number, nowMs: number): number => {
    const elapsed = nowMs - refilledAtMs[slot]!;
    return Math.min(burst, tokens[slot]! + (elapsed > 0 ? (elapsed / 1000) * perSecond : 0));
  };
  const isHeldBySource = (slot: number): boolean =>
    heldByKind[slot] === source[0] && heldByHigh[slot] === source[1] && heldByLow[slot] === source[2];

  return {
    take(address, nowMs) {
      readSource(address, source);
      const hash = halfSipHash3(key0, key1, source[0]!, source[1]!, source[2]!);
      const first = hash & mask;
      const second = (hash >>> 16) & mask;
      let slot: number;
      if (isHeldBySource(first)) slot = first;
      else if (isHeldBySource(second)) slot = second;
      else {
        const firstAvailable = available(first, nowMs);
        const secondAvailable = available(second, nowMs);
        if (firstAvailable >= burst || secondAvailable >= burst) {
          slot = firstAvailable >= burst ? first : second;
          heldByKind[slot] = source[0]!;
          heldByHigh[slot] = source[1]!;
          heldByLow[slot] = source[2]!;
        } else {
          slot = firstAvailable >= secondAvailable ? first : second;
        }
      }
      const tokensNow = available(slot, nowMs);
      refilledAtMs[slot] = nowMs;
      if (tokensNow < 1) {
        tokens[slot] = tokensNow;
        return false;
      }
      tokens[slot] = tokensNow - 1;
      return true;
    },
  };
}

const words = new Uint16Array(8);

/**
 * `address` (as a socket reports it) -> [kind, high, low] of its source, without allocating: IPv4
 * and IPv4-mapped IPv6 as the 32-bit address, other IPv6 as its first 64 bits. Text that is no
 * address (no socket gives one) is one source of its own.
 */
function readSource(address: string, out: Uint32Array): void {
  out[1] = 0;
  if (address.indexOf(":") < 0) {
    const ipv4 = parseIpv4(address, 0, address.length);
    out[0] = ipv4 < 0 ? SourceKind.NotAnAddress : SourceKind.IPv4;
    out[2] = ipv4 < 0 ? 0 : ipv4;
    return;
  }
  const zone = address.indexOf("%");
  if (!parseIpv6(address, zone < 0 ? address.length : zone)) {
    out[0] = SourceKind.NotAnAddress;
    out[2] = 0;
  } else if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    out[0] = SourceKind.IPv4;
    out[2] = (words[6]! << 16) | words[7]!;
  } else {
    out[0] = SourceKind.IPv6Prefix;
    out[1] = (words[0]! << 16) | words[1]!;
    out[2] = (words[2]! << 16) | words[3]!;
  }
}

const COLON = 0x3a;
const DOT = 0x2e;

/** text[start, end) as a dotted quad -> its 32-bit value, or -1. */
function parseIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (octets < 4) {
    let octet = 0;
    let digits = 0;
    for (let code = text.charCodeAt(i); digits < 3 && code >= 0x30 && code <= 0x39; code = text.charCodeAt(++i)) {
      octet = octet * 10 + (code - 0x30);
      digits++;
    }
    if (digits === 0 || octet > 255) return -1;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(i) !== DOT) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

/** text[0, end) as IPv6 (compressed, or with a dotted-quad tail) -> its eight groups in `words`. */
function parseIpv6(text: string, end: number): boolean {
  let count = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    if (count === 8) return false;
    const start = i;
    let group = 0;
    for (let digit = hexValue(text.charCodeAt(i)); digit >= 0 && i < end; digit = hexValue(text.charCodeAt(++i))) group = group * 16 + digit;
    if (i < end && text.charCodeAt(i) === DOT) {
      const ipv4 = parseIpv4(text, start, end);
      if (ipv4 < 0 || count > 6) return false;
      words[count++] = ipv4 >>> 16;
      words[count++] = ipv4 & 0xffff;
      break;
    }
    if (i === start || i - start > 4) return false;
    words[count++] = group;
    if (i === end) break;
    if (text.charCodeAt(i) !== COLON) return false;
    i++;
    if (text.charCodeAt(i) === COLON && i < end) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0) return count === 8;
  if (count > 7) return false;
  // "::" stands for the groups missing: move the ones after it to the end, zero the gap.
  const after = count - gap;
  for (let k = 1; k <= after; k++) words[8 - k] = words[count - k]!;
  for (let k = gap; k < 8 - after; k++) words[k] = 0;
  return true;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

function readUint32LE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}
