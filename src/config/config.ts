// The one typed configuration: every field is readonly and validated before the server sees it.
// The mapping to conf keys and command-line flags lives in options.ts, and only there.

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `external-ip`: the public address NAT maps to, optionally paired with the private one it maps. */
export interface ExternalIp {
  readonly public: string;
  readonly private?: string;
}

export interface Config {
  /** Addresses to listen on; empty means every interface. */
  readonly listeningIps: readonly string[];
  /** UDP and TCP listening port; 0 (an ephemeral port) only through the programmatic API. */
  readonly listeningPort: number;
  /** TLS listening port; 0 (an ephemeral port) only through the programmatic API. */
  readonly tlsListeningPort: number;
  readonly relayIps: readonly string[];
  readonly externalIps: readonly ExternalIp[];
  readonly minPort: number;
  readonly maxPort: number;
  readonly realm: string;
  /** PEM certificate chain file; given together with `pkey`. */
  readonly cert?: string;
  /** PEM private key file; given together with `cert`. */
  readonly pkey?: string;
  readonly noUdp: boolean;
  readonly noTcp: boolean;
  readonly noTls: boolean;
  /** Add FINGERPRINT to every response. */
  readonly fingerprint: boolean;
  /** Also send MAPPED-ADDRESS in Binding responses, for clients that read only that (RFC 3489 requests, without the magic cookie, are not answered). */
  readonly mappedAddress: boolean;
  /** A TCP/TLS connection with nothing complete in flight is closed after this long. */
  readonly streamIdleTimeoutSeconds: number;
  /** Log destination file; "stdout" or "-" (or unset) means standard output. */
  readonly logFile?: string;
  readonly logLevel: LogLevel;
  /** SOFTWARE attribute value; unset means none is sent (smaller responses, less amplification). */
  readonly software?: string;

  // TURN: credentials (RFC 8489 §9.2), quotas, lifetimes and the peer policy.
  /** Static users, `name:password` or `name:0x<md5 key>`. */
  readonly users: readonly string[];
  /** coturn's switch for the long-term mechanism; static users are used whenever given. */
  readonly ltCredMech: boolean;
  /** Accept time-limited REST credentials signed with static-auth-secret. */
  readonly useAuthSecret: boolean;
  /** Every secret is accepted; the first one mints. */
  readonly staticAuthSecrets: readonly string[];
  readonly restApiSeparator: string;
  readonly staleNonceSeconds: number;
  readonly maxAllocateLifetimeSeconds: number;
  readonly userQuota: number;
  readonly totalQuota: number;
  readonly maxPermissionsPerAllocation: number;
  readonly maxChannelsPerAllocation: number;
  /** Exceptions to the default deny list and to denied-peer-ip: addresses, ranges `a-b`, CIDR blocks. */
  readonly allowedPeerIps: readonly string[];
  readonly deniedPeerIps: readonly string[];
  /** Allow relaying to 127.0.0.0/8 and ::1 (tests, labs); off by default. */
  readonly allowLoopbackPeers: boolean;
  /** Accept RFC 5766's channel numbers 0x5000-0x7FFF too (RFC 8656 §12 allows 0x4000-0x4FFF). */
  readonly rfc5766ChannelNumbers: boolean;
  /** Relay threads sharing the listening ports (SO_REUSEPORT); unset, one per CPU; 0 as in coturn, one (its single-threaded mode). */
  readonly relayThreads?: number;
  /** Answers to requests that did not authenticate are rate-limited per source IP. */
  readonly unauthorizedRatelimit: boolean;
  /** A TCP/TLS connection that has not allocated within this many seconds is closed. */
  readonly maxAllocateTimeoutSeconds: number;
  /** Open TCP/TLS connections the server keeps, in all, and from one IP address. */
  readonly maxTcpConnections: number;
  readonly maxTcpConnectionsPerIp: number;
  /** Refuse an expired REST credential even on the allocation it made (by default it outlives it). */
  readonly strictExpiry: boolean;
  /** The relay family of an Allocate that names none: IPv4 (RFC 8656), IPv6, or the family the client came over ("keep"). */
  readonly allocationDefaultAddressFamily: "ipv4" | "ipv6" | "keep";
  /** How long a drain waits for allocations to end before the process exits anyway. */
  readonly drainGraceSeconds: number;
  /** Give the heap of ended allocations back to the system (heap-trim.ts); needs V8's gc function. */
  readonly heapTrim: boolean;
  /** Bytes per second one allocation may relay, both ways together; 0 for no limit. */
  readonly maxBps: number;
  /** The server's bandwidth: each allocation reserves max-bps of it; 0 for no limit. */
  readonly bpsCapacity: number;

  // The credential endpoint (HTTP) and the REST credentials it mints.
  /** Address the credential endpoint listens on; loopback by default. */
  readonly apiListeningIp: string;
  /** Its TCP port; 0 (an ephemeral port) only through the programmatic API. */
  readonly apiListeningPort: number;
  /** PEM certificate chain for HTTPS on the endpoint; given together with `apiPkey`. */
  readonly apiCert?: string;
  /** PEM private key for HTTPS on the endpoint; given together with `apiCert`. */
  readonly apiPkey?: string;
  /** Bearer keys the endpoint accepts; secrets, never printed. */
  readonly apiKeys: readonly string[];
  /** Mint without a key; refused unless apiListeningIp is loopback (127.0.0.0/8, ::1). */
  readonly apiAllowAnonymous: boolean;
  /** Origins (`scheme://host[:port]`) allowed by CORS; none means CORS is off. */
  readonly apiCorsOrigins: readonly string[];
  /** Credential requests allowed per minute, per client IP and per key. */
  readonly apiRateLimitPerMinute: number;
  /** Do not start the credential endpoint. */
  readonly noApi: boolean;
  /** TTL of a minted credential when the request names none. */
  readonly restDefaultTtlSeconds: number;
  /** Longest TTL minted; a longer request gets this. */
  readonly restMaxTtlSeconds: number;
  /** Host (DNS name or IP literal) in the stun:/turn:/turns: URIs handed out; unset: the first external-ip, listening-ip, or hostname. */
  readonly restUriHost?: string;
  /**
   * Redis that the nodes behind one secret share (`redis://` or `rediss://`, may hold a password):
   * a REST credential revoked on one is refused by all. Unset: revocation is this node's alone.
   */
  readonly redisUrl?: string;

  // The process.
  /** Where `turnpike start` without a config file keeps its secret and API key; unset: the XDG state directory. */
  readonly stateFile?: string;
  /** File `turnpike start` writes its process id to, and `turnpike reload` reads. */
  readonly pidfile?: string;
}

export const DEFAULT_CONFIG: Config = Object.freeze({
  listeningIps: Object.freeze([]),
  listeningPort: 3478,
  tlsListeningPort: 5349,
  relayIps: Object.freeze([]),
  externalIps: Object.freeze([]),
  minPort: 49152,
  maxPort: 65535,
  realm: "turnpike",
  noUdp: false,
  noTcp: false,
  noTls: false,
  fingerprint: false,
  mappedAddress: false,
  streamIdleTimeoutSeconds: 30,
  logLevel: "info",
  users: Object.freeze([]),
  ltCredMech: false,
  useAuthSecret: false,
  staticAuthSecrets: Object.freeze([]),
  restApiSeparator: ":",
  staleNonceSeconds: 600,
  maxAllocateLifetimeSeconds: 3600,
  userQuota: 10,
  totalQuota: 10_000,
  maxPermissionsPerAllocation: 100,
  maxChannelsPerAllocation: 100,
  allowedPeerIps: Object.freeze([]),
  deniedPeerIps: Object.freeze([]),
  allowLoopbackPeers: false,
  rfc5766ChannelNumbers: false,
  unauthorizedRatelimit: true,
  maxAllocateTimeoutSeconds: 60,
  maxTcpConnections: 10_000,
  maxTcpConnectionsPerIp: 1000,
  strictExpiry: false,
  allocationDefaultAddressFamily: "ipv4",
  drainGraceSeconds: 1800,
  heapTrim: true,
  maxBps: 0,
  bpsCapacity: 0,
  apiListeningIp: "127.0.0.1",
  apiListeningPort: 8080,
  apiKeys: Object.freeze([]),
  apiAllowAnonymous: false,
  apiCorsOrigins: Object.freeze([]),
  apiRateLimitPerMinute: 60,
  noApi: false,
  restDefaultTtlSeconds: 3600,
  restMaxTtlSeconds: 86_400,
});
