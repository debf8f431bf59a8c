import type { Config } from "../config/config.js";
import { isWildcard } from "../config/validate-config.js";
import type { MintedCredential } from "./api-deps.js";

export interface IceUriPorts {
  readonly udp?: number;
  readonly tcp?: number;
  /** TLS listening port, only when TLS is on. */
  readonly tls?: number;
}

/** What the endpoint and `turnpike credentials` answer; pasted unchanged into `new RTCPeerConnection({ iceServers })`. */
export interface CredentialResponse {
  readonly username: string;
  readonly password: string;
  readonly ttl: number;
  readonly uris: readonly string[];
  readonly iceServers: readonly { readonly urls: readonly string[]; readonly username: string; readonly credential: string }[];
}

/**
 * RFC 7064/7065 URIs for every enabled transport: stun: for Binding (over UDP), turn: over UDP and
 * TCP, turns: over TLS. An IPv6 literal is bracketed.
 */
export function iceUris(host: string, ports: IceUriPorts): string[] {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const uris: string[] = [];
  // Browsers send STUN Binding over UDP only: without UDP a stun: URI would be one more dead candidate.
  if (ports.udp !== undefined) uris.push(`stun:${h}:${ports.udp}`, `turn:${h}:${ports.udp}?transport=udp`);
  if (ports.tcp !== undefined) uris.push(`turn:${h}:${ports.tcp}?transport=tcp`);
  if (ports.tls !== undefined) uris.push(`turns:${h}:${ports.tls}?transport=tcp`);
  return uris;
}

/** The STUN URI needs no credential; browsers accept it in the same entry, so one entry carries all. */
export function credentialResponse(credential: MintedCredential, uris: readonly string[]): CredentialResponse {
  return {
    username: credential.username,
    password: credential.password,
    ttl: credential.ttlSeconds,
    uris,
    iceServers: [{ urls: uris, username: credential.username, credential: credential.password }],
  };
}

/**
 * The host in the URIs handed out: rest-uri-host, else the first external-ip's public address, else
 * the first configured listening-ip that is not a wildcard, else the hostname (never an address found
 * by listening on every interface: the first of those is loopback).
 */
export function advertisedHost(config: Pick<Config, "restUriHost" | "externalIps" | "listeningIps">, hostname: () => string): string {
  if (config.restUriHost !== undefined) return config.restUriHost;
  const external = config.externalIps[0];
  if (external !== undefined) return external.public;
  const listening = config.listeningIps.find((ip) => !isWildcard(ip));
  return listening ?? hostname();
}
