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
