import type { ClientLink } from "./ports.js";

/** RFC 8656 §2: client address and port, server address and port, transport. The link names the server side. */
export interface FiveTuple {
  readonly link: ClientLink;
  readonly clientAddress: string;
  readonly clientPort: number;
}

/** For logs only: never on the packet path. */
export function formatFiveTuple({ link, clientAddress, clientPort }: FiveTuple): string {
  const client = clientAddress.includes(":") ? `[${clientAddress}]:${clientPort}` : `${clientAddress}:${clientPort}`;
  const server = link.localAddress.includes(":") ? `[${link.localAddress}]:${link.localPort}` : `${link.localAddress}:${link.localPort}`;
  return `${link.transport} ${client} -> ${server}`;
}

/**
 * The client's address as (XOR-)MAPPED-ADDRESS carries it. Node names a link-local IPv6 source with its
 * zone (fe80::1%eth0): the zone says which of our interfaces reached it, so replies keep it, but it
 * means nothing to the client and has no place on the wire (RFC 8489 §14.1 carries 16 bytes).
 */
export function withoutZone<T extends { readonly address: string }>(transportAddress: T): T {
  const zone = transportAddress.address.indexOf("%");
  return zone < 0 ? transportAddress : { ...transportAddress, address: transportAddress.address.slice(0, zone) };
}
