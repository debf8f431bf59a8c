// coturn's options that turnpike does not implement yet, so that an existing turnserver.conf loads
// with one warning instead of failing. Names come from coturn 4.6's `turnserver` usage text and its
// example configuration; aliases coturn accepts are listed too.

/** How the option is written: bare, with a value, or with an optional `=value` (then only `--key=value` on the command line). */
export type CoturnArity = "flag" | "value" | "optional";

export interface CoturnOption {
  readonly arity: CoturnArity;
  /** Ignoring it leaves the server more open than the operator asked for: authentication, peer restrictions. */
  readonly loosensSecurity?: true;
  /** A user database: ignoring it refuses its users, and leaves its secrets, quotas and peer rules unread. */
  readonly userDatabase?: true;
  /** What to do instead, said with the warning: the same text groups options. */
  readonly instead?: string;
}

const flag: CoturnOption = { arity: "flag" };
const value: CoturnOption = { arity: "value" };
const securityFlag: CoturnOption = { arity: "flag", loosensSecurity: true };
const securityValue: CoturnOption = { arity: "value", loosensSecurity: true };
const userDatabase: CoturnOption = { arity: "value", userDatabase: true };
const processUser: CoturnOption = { arity: "value", instead: "NOT applied, turnpike never changes its user: start it as that user (systemd User=, Group=)" };
const prometheusOption = (arity: CoturnArity): CoturnOption => ({ arity, instead: "turnpike's Prometheus metrics are at /metrics on the credential endpoint (none with no-api)" });

export const UNIMPLEMENTED_COTURN_OPTIONS: Readonly<Record<string, CoturnOption>> = {
  // listeners and relays
  "listening-device": value,
  "listener-ifname": value,
  "alt-listening-port": value,
  "alt-listener-port": value,
  "alt-tls-listening-port": value,
  "alt-tls-listener-port": value,
  "tcp-proxy-port": value,
  "aux-server": value,
  "udp-self-balance": flag,
  "relay-device": value,
  "relay-ifname": value,
  "no-dtls": flag,
  "no-udp-relay": flag,
  "keep-address-family": { arity: "flag", instead: "NOT applied: coturn's deprecated spelling; write allocation-default-address-family=keep" },
  "server-relay": securityFlag,
  mobility: flag,
  ne: value,
  // authentication and credentials
  "no-auth": flag,
  "secret-ts-exp-time": value,
  "server-name": value,
  oauth: securityFlag,
  "check-origin-consistency": securityFlag,
  "secure-stun": securityFlag,
  "no-auth-pings": flag,
  "no-dynamic-ip-list": flag,
  "no-dynamic-realms": flag,
  // user databases
  db: userDatabase,
  userdb: userDatabase,
  "psql-userdb": userDatabase,
  "sql-userdb": userDatabase,
  "mysql-userdb": userDatabase,
  "mongo-userdb": userDatabase,
  "redis-userdb": userDatabase,
  "redis-statsdb": value,
  "secret-key-file": value,
  // quotas, bandwidth and lifetimes
  "channel-lifetime": value,
  "permission-lifetime": value,
  // peer restrictions
  // STUN behaviour and redirection
  "stun-only": flag,
  "no-stun": flag,
  "alternate-server": value,
  "tls-alternate-server": value,
  "response-origin-only-with-rfc5780": flag,
  // TLS details
  "pkey-pwd": value,
  "cipher-list": value,
  "CA-file": securityValue,
  "ec-curve-name": value,
  dh566: flag,
  dh1066: flag,
  "dh-file": value,
  "no-tlsv1_2": flag,
  // logging
  "no-stdout-log": flag,
  syslog: flag,
  "syslog-facility": value,
  "simple-log": flag,
  "new-log-timestamp": flag,
  "new-log-timestamp-format": value,
  "log-binding": flag,
  // process, admin interfaces, metrics
  daemon: flag,
  "proc-user": processUser,
  "proc-group": processUser,
  "no-cli": flag,
  "cli-ip": value,
  "cli-port": value,
  "cli-password": value,
  "cli-max-output-sessions": value,
  "web-admin": flag,
  "web-admin-ip": value,
  "web-admin-port": value,
  "web-admin-listen-on-workers": flag,
  "acme-redirect": value,
  prometheus: prometheusOption("flag"),
  "prometheus-port": prometheusOption("value"),
};

/**
 * coturn options whose effect is already turnpike's behaviour, so they are accepted without a word:
 * turnpike has no RFC 5780 NAT behaviour discovery, and sends no SOFTWARE unless `software` is set.
 */
export const COTURN_OPTIONS_ALREADY_DEFAULT: Readonly<Record<string, CoturnOption>> = {
  "no-rfc5780": flag,
  prod: flag,
  // The peer policy denies loopback and multicast peers unless allowed.
  "no-loopback-peers": flag,
  "no-multicast-peers": flag,
  // TLS is 1.2 or later, always.
  "no-sslv2": flag,
  "no-sslv3": flag,
  "no-tlsv1": flag,
  "no-tlsv1_1": flag,
  // There is no TCP relay (RFC 6062) to turn off.
  "no-tcp-relay": flag,
};

export function findCoturnOption(key: string): (CoturnOption & { readonly alreadyDefault: boolean }) | undefined {
  const unimplemented = Object.hasOwn(UNIMPLEMENTED_COTURN_OPTIONS, key) ? UNIMPLEMENTED_COTURN_OPTIONS[key] : undefined;
  if (unimplemented !== undefined) return { ...unimplemented, alreadyDefault: false };
  const matching = Object.hasOwn(COTURN_OPTIONS_ALREADY_DEFAULT, key) ? COTURN_OPTIONS_ALREADY_DEFAULT[key] : undefined;
  return matching === undefined ? undefined : { ...matching, alreadyDefault: true };
}
