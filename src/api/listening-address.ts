import { isIP } from "node:net";

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms: the only addresses where anonymous minting is allowed. */
export function isLoopbackAddress(ip: string): boolean {
  const version = isIP(ip);
  if (version === 4) return ip.startsWith("127.");
  if (version !== 6) return false;
  const lower = ip.toLowerCase();
  if (lower.startsWith("::ffff:")) return isLoopbackAddress(lower.slice("::ffff:".length));
  return expandIpv6(lower).every((group, i) => group === (i === 7 ? 1 : 0));
}

/** "[::1]:8080" for IPv6, "127.0.0.1:8080" otherwise. */
export function formatHostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * The eight 16-bit groups of an IPv6 address (already checked with isIP), "::" expanded;
 * a trailing dotted IPv4 part counts as two groups.
 */
export function expandIpv6(ip: string): number[] {
  const withoutZone = ip.split("%")[0] ?? ip;
  const [head = "", tail] = withoutZone.split("::");
  const parse = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((group) => {
          if (!group.includes(".")) return [Number.parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
