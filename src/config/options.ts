// THE table: conf key <-> command-line flag (`--key`) <-> Config field <-> parser <-> repeatable <-> doc.
// Parsing, help text and the example file's test all derive from it; nothing else names an option.
import { LOG_LEVELS, type Config } from "./config.js";
import {
  enumParser,
  externalIpParser,
  filePathParser,
  flagParser,
  hostParser,
  ipParser,
  logFileParser,
  portParser,
  presetParser,
  countParser,
  limitParser,
  ipRangeParser,
  optionalSecondsParser,
  originParser,
  secondsParser,
  secretParser,
  separatorParser,
  staticUserParser,
  textParser,
  type ValueParser,
} from "./value-parsers.js";

type Field = keyof Config;
type ElementOf<T> = T extends readonly (infer E)[] ? E : never;

interface OptionCommon {
  /** The conf key and, with `--` in front, the command-line flag: coturn's name where coturn has one. */
  readonly key: string;
  /** True when coturn has an option of this name and meaning. */
  readonly coturn: boolean;
  /** One line for help and the example file. */
  readonly doc: string;
  /** How the default reads in help when formatting the value would not say it well. */
  readonly defaultText?: string;
}

interface SingleOption<F extends Field> extends OptionCommon {
  readonly field: F;
  readonly repeatable: false;
  readonly parser: ValueParser<Config[F]>;
}

interface RepeatableOption<F extends Field> extends OptionCommon {
  readonly field: F;
  /** Each occurrence adds one element; the command line's occurrences replace the file's list. */
  readonly repeatable: true;
  readonly parser: ValueParser<ElementOf<Config[F]>>;
}

export type OptionSpec = { [F in Field]: SingleOption<F> | RepeatableOption<F> }[Field];

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: "listening-ip",
    field: "listeningIps",
    parser: ipParser,
    repeatable: true,
    coturn: true,
    doc: "Address to listen on.",
    defaultText: "all interfaces",
  },
  {
    key: "listening-port",
    field: "listeningPort",
    parser: portParser({ allowZeroInApi: true }),
    repeatable: false,
    coturn: true,
    doc: "UDP and TCP listening port.",
  },
  {
    key: "tls-listening-port",
    field: "tlsListeningPort",
    parser: portParser({ allowZeroInApi: true }),
    repeatable: false,
    coturn: true,
    doc: "TLS listening port (needs cert and pkey).",
  },
  {
    key: "relay-ip",
    field: "relayIps",
    parser: ipParser,
    repeatable: true,
    coturn: true,
    doc: "Local address to allocate relayed transport addresses on.",
    defaultText: "the address the client reached",
  },
  {
    key: "external-ip",
    field: "externalIps",
    parser: externalIpParser,
    repeatable: true,
    coturn: true,
    doc: "Public address to advertise behind NAT, optionally as public/private to map one relay-ip.",
    defaultText: "none",
  },
  { key: "min-port", field: "minPort", parser: portParser(), repeatable: false, coturn: true, doc: "Lowest relay port." },
  { key: "max-port", field: "maxPort", parser: portParser(), repeatable: false, coturn: true, doc: "Highest relay port." },
  {
    key: "realm",
    field: "realm",
    parser: textParser({ maxLength: 127 }),
    repeatable: false,
    coturn: true,
    doc: "REALM sent to clients for long-term credentials.",
  },
  {
    key: "cert",
    field: "cert",
    parser: filePathParser,
    repeatable: false,
    coturn: true,
    doc: "TLS certificate chain, PEM; relative to the config file; needs pkey.",
    defaultText: "none",
  },
  {
    key: "pkey",
    field: "pkey",
    parser: filePathParser,
    repeatable: false,
    coturn: true,
    doc: "TLS private key, PEM; relative to the config file; needs cert.",
    defaultText: "none",
  },
  { key: "no-udp", field: "noUdp", parser: flagParser, repeatable: false, coturn: true, doc: "Do not listen on UDP." },
  { key: "no-tcp", field: "noTcp", parser: flagParser, repeatable: false, coturn: true, doc: "Do not listen on TCP." },
  { key: "no-tls", field: "noTls", parser: flagParser, repeatable: false, coturn: true, doc: "Do not listen on TLS." },
  {
    key: "fingerprint",
    field: "fingerprint",
    parser: flagParser,
    repeatable: false,
    coturn: true,
    doc: "Add FINGERPRINT to every response.",
  },
  {
    key: "mapped-address",
    field: "mappedAddress",
    parser: flagParser,
    repeatable: false,
    coturn: false,
    doc: "Also send MAPPED-ADDRESS in Binding responses, for RFC 3489-era clients.",
  },
  {
    key: "no-stun-backward-compatibility",
    field: "mappedAddress",
    parser: presetParser(false),
    repeatable: false,
    coturn: true,
    doc: "Send no MAPPED-ADDRESS (the default; turns mapped-address off).",
  },
  {
    key: "stream-idle-timeout",
    field: "streamIdleTimeoutSeconds",
    parser: secondsParser({ min: 1, max: 86_400 }),
    repeatable: false,
    coturn: false,
    doc: "Close a TCP/TLS connection idle this many seconds with nothing complete in flight.",
  },
  {
    key: "log-file",
    field: "logFile",
    parser: logFileParser,
    repeatable: false,
    coturn: true,
    doc: 'Write JSON log lines to this file; "stdout" or "-" for standard output.',
    defaultText: "stdout",
  },
  {
    key: "log-level",
    field: "logLevel",
    parser: enumParser(LOG_LEVELS, "<level>"),
    repeatable: false,
    coturn: false,
    doc: `Least severe level logged: ${LOG_LEVELS.join(", ")}.`,
  },
  {
    key: "verbose",
    field: "logLevel",
    parser: presetParser("debug"),
    repeatable: false,
    coturn: true,
    doc: "Same as log-level=debug.",
  },
  {
    key: "Verbose",
    field: "logLevel",
    parser: presetParser("trace"),
    repeatable: false,
    coturn: true,
    doc: "Same as log-level=trace.",
  },
  {
    key: "software",
    field: "software",
    parser: textParser({ maxLength: 127 }),
    repeatable: false,
    coturn: false,
    doc: "SOFTWARE attribute value to send; unset sends none (smaller responses, less amplification).",
    defaultText: "none",
  },
  {
    key: "no-software-attribute",
    field: "software",
    parser: presetParser(undefined),
    repeatable: false,
    coturn: true,
    doc: "Send no SOFTWARE attribute (the default; unsets software).",
  },
  // TURN credentials (RFC 8489 §9.2)
  {
    key: "user",
    field: "users",
    parser: staticUserParser,
    repeatable: true,
    coturn: true,
    doc: "A long-term user, name:password or name:0x<MD5 key hex>.",
    defaultText: "none",
  },
  {
    key: "lt-cred-mech",
    field: "ltCredMech",
    parser: flagParser,
    repeatable: false,
    coturn: true,
    doc: "Use the long-term credential mechanism (always on for TURN: turnpike never relays without credentials).",
  },
  {
    key: "use-auth-secret",
    field: "useAuthSecret",
    parser: flagParser,
    repeatable: false,
    coturn: true,
    doc: "Accept time-limited REST credentials: username <expiry>:<user>, password base64(HMAC-SHA1(secret, username)).",
  },
  {
    key: "static-auth-secret",
    field: "staticAuthSecrets",
    parser: secretParser,
    repeatable: true,
    coturn: true,
    doc: "Shared secret for REST credentials; repeat to rotate: all are accepted, the first mints.",
    defaultText: "none",
  },
  {
    key: "rest-api-separator",
    field: "restApiSeparator",
    parser: separatorParser,
    repeatable: false,
    coturn: true,
    doc: "Separator between expiry and user name in REST usernames: one printable ASCII character, not a digit.",
  },
  {
    key: "stale-nonce",
    field: "staleNonceSeconds",
    parser: optionalSecondsParser(600, { min: 30, max: 86_400 }),
    repeatable: false,
    coturn: true,
    doc: "Nonce lifetime in seconds; a request with an older nonce gets 438 and a fresh one.",
  },
  // TURN allocations (RFC 8656)
  {
    key: "max-allocate-lifetime",
    field: "maxAllocateLifetimeSeconds",
    parser: secondsParser({ min: 600, max: 86_400 }),
    repeatable: false,
    coturn: true,
    doc: "Longest allocation lifetime granted, in seconds.",
  },
  {
    key: "user-quota",
    field: "userQuota",
    parser: limitParser(1_000_000),
    repeatable: false,
    coturn: true,
    doc: "Allocations one username may hold at once (486 past it); 0, as in coturn, means no limit (1000000).",
  },
  {
    key: "total-quota",
    field: "totalQuota",
    parser: limitParser(10_000_000),
    repeatable: false,
    coturn: true,
    doc: "Allocations the server holds at once (508 past it); 0, as in coturn, means no limit (10000000).",
  },
  {
    key: "max-permissions-per-allocation",
    field: "maxPermissionsPerAllocation",
    parser: countParser({ min: 1, max: 100_000 }),
    repeatable: false,
    coturn: false,
    doc: "Peer addresses one allocation may have permissions for (508 past it).",
  },
  {
    key: "max-channels-per-allocation",
    field: "maxChannelsPerAllocation",
    parser: countParser({ min: 1, max: 16_384 }),
    repeatable: false,
    coturn: false,
    doc: "Channels one allocation may have bound at once (508 past it): one permission covers every port of its peer address, so without this a client could bind every channel number.",
  },
  // Peer policy (RFC 8656 §21.3): deny by default
  {
    key: "allowed-peer-ip",
    field: "allowedPeerIps",
    parser: ipRangeParser,
    repeatable: true,
    coturn: true,
    doc: "Peer address, range a-b or CIDR to allow, even if denied by default or by denied-peer-ip.",
    defaultText: "none",
  },
  {
    key: "denied-peer-ip",
    field: "deniedPeerIps",
    parser: ipRangeParser,
    repeatable: true,
    coturn: true,
    doc: "Peer address, range a-b or CIDR to deny, on top of the built-in deny list.",
    defaultText: "none",
  },
  {
    key: "allow-loopback-peers",
    field: "allowLoopbackPeers",
    parser: flagParser,
    repeatable: false,
    coturn: true,
    doc: "Allow relaying to 127.0.0.0/8 and ::1 (tests and labs only; our own ports stay denied).",
  },
  {
    key: "relay-threads",
    field: "relayThreads",
    parser: countParser({ min: 0, max: 256 }),
    repeatable: false,
    coturn: true,
    doc: "Relay threads sharing the listening ports, each with its own allocations; 0 means one per CPU.",
    defaultText: "0 (one per CPU)",
  },
  {
    key: "unauthorized-ratelimit",
    field: "unauthorizedRatelimit",
    parser: flagParser,
    repeatable: false,
    coturn: true,
    doc: "Rate-limit answers to unauthenticated requests per source, an IPv4 address or an IPv6 /64 (burst 200, then 20/s, in each relay thread); =false turns it off.",
    defaultText: "on",
  },
  {
    key: "max-allocate-timeout",
    field: "maxAllocateTimeoutSeconds",
    parser: secondsParser({ min: 1, max: 86_400 }),
    repeatable: false,
    coturn: true,
    doc: "Close a TCP/TLS connection that has not allocated within this many seconds, busy or not.",
  },
  {
    key: "max-tcp-connections",
    field: "maxTcpConnections",
    parser: countParser({ min: 1, max: 10_000_000 }),
    repeatable: false,
    coturn: false,
    doc: "TCP/TLS connections the server keeps open at once (TLS handshakes included); more are closed at once.",
  },
  {
    key: "max-tcp-connections-per-ip",
    field: "maxTcpConnectionsPerIp",
    parser: countParser({ min: 1, max: 10_000_000 }),
    repeatable: false,
    coturn: false,
    doc: "TCP/TLS connections one IP address (one IPv6 /64) may hold open at once.",
  },
  {
    key: "strict-expiry",
    field: "strictExpiry",
    parser: flagParser,
    repeatable: false,
    coturn: false,
    doc: "Refuse an expired REST credential on every request; by default an allocation outlives its credential.",
  },
  {
    key: "drain-grace",
    field: "drainGraceSeconds",
    parser: secondsParser({ min: 0, max: 86_400 }),
    repeatable: false,
    coturn: false,
    doc: "When draining (SIGUSR1, turnpike drain, POST /api/v1/drain), exit at the latest this many seconds later.",
  },
  {
    key: "max-bps",
    field: "maxBps",
    parser: countParser({ min: 0, max: 10_000_000_000 }),
    repeatable: false,
    coturn: true,
    doc: "Bytes per second one allocation may relay, both ways together; the excess is dropped. 0: no limit.",
  },
  {
    key: "bps-capacity",
    field: "bpsCapacity",
    parser: countParser({ min: 0, max: 1_000_000_000_000 }),
    repeatable: false,
    coturn: true,
    doc: "The server's bandwidth in bytes per second: each allocation reserves max-bps of it, 508 past it. 0: no limit.",
  },
  {
    key: "rfc5766-channel-numbers",
    field: "rfc5766ChannelNumbers",
    parser: flagParser,
    repeatable: false,
    coturn: false,
    doc: "Also accept channel numbers 0x5000-0x7FFF, as RFC 5766 did (coturn's turnutils_uclient picks them).",
  },
  // The credential endpoint: GET a REST credential and the ICE server URIs over HTTP(S)
  {
    key: "api-listening-ip",
    field: "apiListeningIp",
    parser: ipParser,
    repeatable: false,
    coturn: false,
    doc: "Address the credential endpoint listens on.",
  },
  {
    key: "api-listening-port",
    field: "apiListeningPort",
    parser: portParser({ allowZeroInApi: true }),
    repeatable: false,
    coturn: false,
    doc: "TCP port of the credential endpoint.",
  },
  {
    key: "api-cert",
    field: "apiCert",
    parser: filePathParser,
    repeatable: false,
    coturn: false,
    doc: "TLS certificate chain for the credential endpoint (HTTPS), PEM; relative to the config file; needs api-pkey.",
    defaultText: "none: plain HTTP",
  },
  {
    key: "api-pkey",
    field: "apiPkey",
    parser: filePathParser,
    repeatable: false,
    coturn: false,
    doc: "TLS private key for the credential endpoint, PEM; relative to the config file; needs api-cert.",
    defaultText: "none",
  },
  {
    key: "api-key",
    field: "apiKeys",
    parser: secretParser,
    repeatable: true,
    coturn: false,
    doc: "Bearer key the credential endpoint accepts (Authorization: Bearer <key>); repeat to rotate.",
    defaultText: "none",
  },
  {
    key: "api-allow-anonymous",
    field: "apiAllowAnonymous",
    parser: flagParser,
    repeatable: false,
    coturn: false,
    doc: "Serve the endpoint without an api-key; only with a loopback api-listening-ip, and never to a web page of another site (Origin not in api-cors-origin).",
  },
  {
    key: "api-cors-origin",
    field: "apiCorsOrigins",
    parser: originParser,
    repeatable: true,
    coturn: false,
    doc: "Web origin (scheme://host[:port]) whose pages may call the credential endpoint (CORS).",
    defaultText: "none: CORS off",
  },
  {
    key: "api-rate-limit",
    field: "apiRateLimitPerMinute",
    parser: countParser({ min: 1, max: 1_000_000 }),
    repeatable: false,
    coturn: false,
    doc: "Credential requests per minute allowed per client address and per key (429 past it).",
  },
  {
    key: "no-api",
    field: "noApi",
    parser: flagParser,
    repeatable: false,
    coturn: false,
    doc: "Do not start the credential endpoint.",
  },
  {
    key: "rest-default-ttl",
    field: "restDefaultTtlSeconds",
    parser: secondsParser({ min: 1, max: 604_800 }),
    repeatable: false,
    coturn: false,
    doc: "Seconds a minted REST credential is valid when the request names no ttl.",
  },
  {
    key: "rest-max-ttl",
    field: "restMaxTtlSeconds",
    parser: secondsParser({ min: 1, max: 604_800 }),
    repeatable: false,
    coturn: false,
    doc: "Longest validity, in seconds, of a minted REST credential; a longer request gets this.",
  },
  {
    key: "rest-uri-host",
    field: "restUriHost",
    parser: hostParser,
    repeatable: false,
    coturn: false,
    doc: "Host name or IP address in the stun:/turn:/turns: URIs handed out with credentials.",
    defaultText: "the first external-ip, else the first listening-ip, else the machine's hostname",
  },
  // The process
  {
    key: "state-file",
    field: "stateFile",
    parser: filePathParser,
    repeatable: false,
    coturn: false,
    doc: "Where turnpike start without a config file keeps the REST secret and API key it generates.",
    defaultText: "$XDG_STATE_HOME/turnpike/state.json, else ~/.local/state/turnpike/state.json",
  },
  {
    key: "pidfile",
    field: "pidfile",
    parser: filePathParser,
    repeatable: false,
    coturn: true,
    doc: "File turnpike start writes its process id to (removed on exit), for turnpike reload.",
    defaultText: "none; turnpike.pid next to the state file when turnpike start generates its credentials",
  },
];

const BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(OPTIONS.map((option) => [option.key, option]));

export function findOption(key: string): OptionSpec | undefined {
  return BY_KEY.get(key);
}

/** The row that validates a field given through the programmatic API: the one that takes its value, not a preset. */
export function findFieldOption(field: string): OptionSpec | undefined {
  return OPTIONS.find((option) => option.field === field && option.parser.kind !== "preset");
}
