import type { Logger } from "pino";
import type { ClientTransport } from "../turn/ports.js";

/** The HTTP endpoint's settings, from the config table (api-*, rest-*). */
export interface ApiOptions {
  readonly listeningIp: string;
  readonly listeningPort: number;
  /** PEM files for HTTPS; both or neither. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Bearer keys; compared in constant time. Empty needs allowAnonymous. */
  readonly apiKeys: readonly string[];
  /** Mint without a key: only accepted on a loopback listening address. */
  readonly allowAnonymous: boolean;
  /** CORS is off unless origins are listed. */
  readonly corsOrigins: readonly string[];
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  /** Credential requests allowed per minute, per client IP and per key (429 with Retry-After past it). */
  readonly rateLimitPerMinute: number;
}

export interface MintedCredential {
  readonly username: string;
  readonly password: string;
  readonly ttlSeconds: number;
}

export interface RelayTrafficStats {
  readonly clientToPeerPackets: number;
  readonly clientToPeerBytes: number;
  readonly peerToClientPackets: number;
  readonly peerToClientBytes: number;
}

/** Plain numbers the core keeps; read on demand by /readyz and /metrics (nothing formats per packet). */
export interface ServerStats {
  /** Datagrams and frames received from clients (STUN, ChannelData or neither), answered or not. */
  readonly clientMessages: number;
  readonly allocations: number;
  readonly permissions: number;
  readonly channels: number;
  readonly allocationsCreated: number;
  readonly allocationsExpired: number;
  readonly allocationsDeleted: number;
  readonly relay: Readonly<Record<ClientTransport, RelayTrafficStats>>;
  readonly droppedPackets: number;
  /** Dropped because their allocation was over max-bps (also in droppedPackets). */
  readonly bandwidthDroppedPackets: number;
  /** max-bps and bps-capacity in force, bytes per second; 0 for no limit. */
  readonly maxBps: number;
  readonly bpsCapacity: number;
  readonly bindingRequests: number;
  /** Error responses to unauthenticated requests not sent: their source was over unauthorized-ratelimit. */
  readonly unauthenticatedAnswersDropped: number;
  /** Error responses sent, by code (400, 401, 403, 437, 438, 441, 486, 500, 508, ...). */
  readonly errorResponses: Readonly<Record<number, number>>;
  readonly totalQuota: number;
  readonly relayPortsFree: number;
  /** V8 heap used by the relay state: the relay threads' heaps summed (this thread's when the relay runs on it). */
  readonly relayHeapUsedBytes: number;
  /** V8 heap the relay threads hold from the system (used or not), summed. */
  readonly relayHeapSizeBytes: number;
  /** Memory-reducing collections the relay threads ran after their allocations ended or a burst grew their heap (heap-trim). */
  readonly heapTrims: number;
  /** Relay threads running now (1 when the relay runs on the main thread). */
  readonly relayThreadsUp: number;
  /** Relay threads restarted after dying, since the start. */
  readonly relayThreadRestarts: number;
  readonly listenersUp: boolean;
  readonly draining: boolean;
  /** With redis-url: whether revocations are shared with the other nodes now. */
  readonly sharedRevocations?: "connecting" | "ready" | "down";
}

/** What a revocation did: on this node, and for the others. */
export interface RevokeOutcome {
  /** The allocations this node ended (the other nodes end theirs as they hear of it). */
  readonly allocationsEnded: number;
  /**
   * With redis-url: true once Redis has it (every node refuses the username), or why it could not
   * take it (this node alone does). Absent without redis-url, or when there is nothing to share (a
   * static user's revocation stays per node; an expired credential is refused anyway).
   */
  readonly shared?: true | { readonly error: string };
}

/** What the endpoint needs from the running server; the server builds it, tests pass fakes. */
export interface ApiDeps {
  readonly options: ApiOptions;
  /** REST credential for `user` (may be undefined: "<expiry>" alone) valid `ttlSeconds`; undefined when no secret is configured. */
  mint(user: string | undefined, ttlSeconds: number): MintedCredential | undefined;
  /** stun:/turn:/turns: URIs for every enabled transport, with the public host. */
  iceUris(): readonly string[];
  /** Refuses further requests signed with `username` and ends its live allocations on every relay thread (and, with redis-url, every node). */
  revoke(username: string): RevokeOutcome | Promise<RevokeOutcome>;
  /** Starts draining (no new allocations; the process ends when they are gone or the grace period ends). */
  drain(): void;
  stats(): ServerStats;
  readonly logger: Logger;
}
