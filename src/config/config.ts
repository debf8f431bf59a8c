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
  /** Also send MAPPED-ADDRESS in Binding responses, for RFC 3489-era clients. */
  readonly mappedAddress: boolean;
  /** A TCP/TLS connection with nothing complete in flight is closed after this long. */
  readonly streamIdleTimeoutSeconds: number;
  /** Log destination file; "stdout" or "-" (or unset) means standard output. */
  readonly logFile?: string;
  readonly logLevel: LogLevel;
  /** SOFTWARE attribute value; unset means none is sent (smaller responses, less amplification). */
  readonly software?: string;
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
});
