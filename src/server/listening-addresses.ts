import os from "node:os";
import { isWildcard } from "../config/validate-config.js";
import { canonicalIp, type IpFamily } from "../stun/address.js";

export interface ListeningAddress {
  readonly address: string;
  readonly family: IpFamily;
}

/**
 * `listening-ip` when given, else every address of every interface, bound one by one (as coturn does)
 * so that each reply leaves from the address the client sent to and every 5-tuple is exact. A wildcard
 * (0.0.0.0, ::) stands for every interface address of its family, bound the same way: a socket bound
 * to it could not say which address a UDP client reached, so there would be no address to relay on
 * (without relay-ip) and no telling which address replies leave from. IPv6 link-local addresses are
 * skipped: they need a scope and are useless to WebRTC peers.
 */
export function resolveListeningAddresses(listeningIps: readonly string[], interfaces: () => ReturnType<typeof os.networkInterfaces> = os.networkInterfaces): ListeningAddress[] {
  if (listeningIps.length === 0) return interfaceAddresses(interfaces, undefined);
  const resolved: ListeningAddress[] = [];
  for (const address of listeningIps) {
    const family: IpFamily = address.includes(":") ? "IPv6" : "IPv4";
    if (isWildcard(address)) resolved.push(...interfaceAddresses(interfaces, family));
    // In one spelling ("0:0:0:0:0:0:0:1" is "::1"): the relay allocator and the port map compare addresses as text.
    else resolved.push({ address: canonicalIp(address), family });
  }
  return resolved;
}

function interfaceAddresses(interfaces: () => ReturnType<typeof os.networkInterfaces>, only: IpFamily | undefined): ListeningAddress[] {
  const found: ListeningAddress[] = [];
  for (const entries of Object.values(interfaces())) {
    for (const entry of entries ?? []) {
      if (only !== undefined && entry.family !== only) continue;
      if (entry.family === "IPv6" && entry.scopeid !== undefined && entry.scopeid !== 0) continue;
      if (entry.family === "IPv6" && /^fe[89ab]/i.test(entry.address)) continue;
      found.push({ address: entry.address, family: entry.family });
    }
  }
  return found;
}
