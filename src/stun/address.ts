// IP address text <-> bytes, without node:net, so that the codec stays pure.

export type IpFamily = "IPv4" | "IPv6";

export interface TransportAddress {
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
}

const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Dotted quad or IPv6 text (full, compressed, or with an embedded IPv4 tail); anything else is undefined. */
export function parseIp(text: string): { family: IpFamily; bytes: Uint8Array } | undefined {
  if (text.includes(":")) {
    const bytes = parseIpv6(text);
    return bytes === undefined ? undefined : { family: "IPv6", bytes };
  }
  const bytes = parseIpv4(text);
  return bytes === undefined ? undefined : { family: "IPv4", bytes };
}

function parseIpv4(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(4);
  let index = 0;
  let octet = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i === text.length ? DOT : text.charCodeAt(i);
    if (code === DOT) {
      if (digits === 0 || index === 4) return undefined;
      bytes[index++] = octet;
      octet = 0;
      digits = 0;
    } else if (code >= ZERO && code <= NINE) {
      // Leading zeros are refused, as inet_pton does: "010" could be read as octal elsewhere.
      if (digits === 1 && octet === 0) return undefined;
      octet = octet * 10 + (code - ZERO);
      if (octet > 255) return undefined;
      digits++;
    } else {
      return undefined;
    }
  }
  return index === 4 ? bytes : undefined;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const compressed = halves.length === 2;
  // An embedded IPv4 address may only end the text.
  const head = parseWords(halves[0] ?? "", !compressed);
  const tail = compressed ? parseWords(halves[1] ?? "", true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const count = head.length + tail.length;
  if (compressed ? count > 7 : count !== 8) return undefined;

  const words = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

/** Colon-separated 16-bit groups; the last may be a dotted quad (two words). "" is no groups. */
function parseWords(text: string, mayEndWithIpv4: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const words: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? "";
    if (IPV6_GROUP.test(part)) {
      words.push(parseInt(part, 16));
      continue;
    }
    const ipv4 = mayEndWithIpv4 && i === parts.length - 1 ? parseIpv4(part) : undefined;
    if (ipv4 === undefined) return undefined;
    words.push(((ipv4[0] ?? 0) << 8) | (ipv4[1] ?? 0), ((ipv4[2] ?? 0) << 8) | (ipv4[3] ?? 0));
  }
  return words;
}

/** ::ffff:0:0/96 (RFC 4291 §2.5.5.2): sixteen bytes, ten zero, then two 0xff. */
export function isIpv4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * 4 bytes -> dotted quad; 16 bytes -> the text libuv's inet_ntop gives (and so Node's rinfo.address):
 * RFC 5952 compression (longest run of two or more zero groups, the first on a tie, lowercase hex),
 * with a dotted-quad tail for IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses.
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);

  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));

  let bestBase = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && words[end] === 0) end++;
    if (end - i > bestLength) {
      bestBase = i;
      bestLength = end - i;
    }
    i = end;
  }
  if (bestLength < 2) bestBase = -1;

  const ipv4Tail =
    bestBase === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff));

  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      text += i === 0 ? "::" : ":";
      i += bestLength - 1;
      continue;
    }
    if (i === 6 && ipv4Tail) {
      text += formatIp(bytes.subarray(12, 16));
      break;
    }
    text += (words[i] ?? 0).toString(16);
    if (i < 7) text += ":";
  }
  return text;
}

/** The address as formatIp writes it ("0:0:0:0:0:0:0:1" is "::1"), to compare addresses as text; left as it is when it does not parse. */
export function canonicalIp(address: string): string {
  const parsed = parseIp(address);
  return parsed === undefined ? address : formatIp(parsed.bytes);
}
