import os from "node:os";
import type { IpFamily } from "../stun/address.js";

export interface ListeningAddress {
  readonly address: string;
  readonly family: IpFamily;
}

/**
 * `listening-ip` when given, else every address of every interface, bound one by one (as coturn does)
 * so that each reply leaves from the address the client sent to and every 5-tuple is exact.
 * IPv6 link-local addresses are skipped: they need a scope and are useless to WebRTC peers.
 */
export function resolveListeningAddresses(listeningIps: readonly string[]): ListeningAddress[] {
  if (listeningIps.length > 0) {
    return listeningIps.map((address) => ({ address, family: address.includes(":") ? "IPv6" : "IPv4" }));
  }
  const found: ListeningAddress[] = [];
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family === "IPv6" && entry.scopeid !== undefined && entry.scopeid !== 0) continue;
      if (entry.family === "IPv6" && /^fe[89ab]/i.test(entry.address)) continue;
      found.push({ address: entry.address, family: entry.family });
    }
  }
  return found;
}
