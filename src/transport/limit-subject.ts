import { formatIp, isIpv4Mapped, parseIp } from "../stun/address.js";

/**
 * What a client address counts as against a per-IP limit: the address itself for IPv4 (IPv4-mapped
 * IPv6 included), its /64 for IPv6, since one IPv6 host usually holds a whole /64.
 */
export function limitSubject(address: string): string {
  const ip = parseIp(address.split("%")[0] ?? address);
  if (ip === undefined || ip.family === "IPv4") return address;
  const { bytes } = ip;
  if (isIpv4Mapped(bytes)) return formatIp(bytes.subarray(12));
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return `${groups.join(":")}::/64`;
}
