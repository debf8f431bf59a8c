import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type Config } from "../../src/config/config.js";
import { COTURN_OPTIONS_ALREADY_DEFAULT, UNIMPLEMENTED_COTURN_OPTIONS } from "../../src/config/coturn-options.js";
import { findFieldOption, findOption, OPTIONS } from "../../src/config/options.js";
import { apiKeyParser, secretParser, staticUserParser } from "../../src/config/value-parsers.js";

// Every Config field, spelled out so that adding a field without a row fails here.
const FIELDS: readonly (keyof Config)[] = [
  "listeningIps",
  "listeningPort",
  "tlsListeningPort",
  "relayIps",
  "relayThreads",
  "unauthorizedRatelimit",
  "maxAllocateTimeoutSeconds",
  "maxTcpConnections",
  "maxTcpConnectionsPerIp",
  "strictExpiry",
  "allocationDefaultAddressFamily",
  "drainGraceSeconds",
  "heapTrim",
  "maxBps",
  "bpsCapacity",
  "externalIps",
  "minPort",
  "maxPort",
  "realm",
  "cert",
  "pkey",
  "noUdp",
  "noTcp",
  "noTls",
  "fingerprint",
  "mappedAddress",
  "streamIdleTimeoutSeconds",
  "logFile",
  "logLevel",
  "software",
  "users",
  "ltCredMech",
  "useAuthSecret",
  "staticAuthSecrets",
  "restApiSeparator",
  "staleNonceSeconds",
  "maxAllocateLifetimeSeconds",
  "userQuota",
  "totalQuota",
  "maxPermissionsPerAllocation",
  "maxChannelsPerAllocation",
  "allowedPeerIps",
  "deniedPeerIps",
  "allowLoopbackPeers",
  "rfc5766ChannelNumbers",
  "apiListeningIp",
  "apiListeningPort",
  "apiCert",
  "apiPkey",
  "apiKeys",
  "apiAllowAnonymous",
  "apiCorsOrigins",
  "apiRateLimitPerMinute",
  "noApi",
  "restDefaultTtlSeconds",
  "restMaxTtlSeconds",
  "restUriHost",
  "redisUrl",
  "stateFile",
  "pidfile",
];

// The TURN options that moved from the coturn warning list into the table.
const TURN_KEYS = [
  "user",
  "lt-cred-mech",
  "use-auth-secret",
  "static-auth-secret",
  "rest-api-separator",
  "stale-nonce",
  "max-allocate-lifetime",
  "user-quota",
  "total-quota",
  "max-permissions-per-allocation",
  "allowed-peer-ip",
  "denied-peer-ip",
  "allow-loopback-peers",
] as const;

describe("the option table", () => {
  it("has one row per key", () => {
    const keys = OPTIONS.map((option) => option.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("gives every Config field exactly one row that takes its value (others are presets)", () => {
    for (const field of FIELDS) {
      const rows = OPTIONS.filter((option) => option.field === field && option.parser.kind !== "preset");
      expect(rows, field).toHaveLength(1);
      expect(findFieldOption(field)?.field).toBe(field);
    }
    expect(new Set(OPTIONS.map((option) => option.field))).toEqual(new Set(FIELDS));
  });

  it("marks exactly the list fields repeatable", () => {
    for (const option of OPTIONS) {
      if (option.parser.kind === "preset") continue;
      expect(option.repeatable, option.key).toBe(Array.isArray(DEFAULT_CONFIG[option.field]));
    }
  });

  it("uses kebab-case keys, except coturn's own Verbose", () => {
    for (const option of OPTIONS) {
      if (option.key === "Verbose") continue;
      expect(option.key).toMatch(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/);
    }
  });

  it("documents every row in one line", () => {
    for (const option of OPTIONS) expect(option.doc, option.key).toMatch(/^[A-Z].*\.$/);
    for (const option of OPTIONS) expect(option.doc).not.toContain("\n");
  });

  it("has coturn's names for the options coturn has", () => {
    const ours = OPTIONS.filter((option) => !option.coturn).map((option) => option.key);
    expect(ours.sort()).toEqual([
      "api-allow-anonymous",
      "api-cert",
      "api-cors-origin",
      "api-key",
      "api-listening-ip",
      "api-listening-port",
      "api-pkey",
      "api-rate-limit",
      "drain-grace",
      "heap-trim",
      "log-level",
      "mapped-address",
      "max-channels-per-allocation",
      "max-permissions-per-allocation",
      "max-tcp-connections",
      "max-tcp-connections-per-ip",
      "no-api",
      "redis-url",
      "rest-default-ttl",
      "rest-max-ttl",
      "rest-uri-host",
      "rfc5766-channel-numbers",
      "software",
      "state-file",
      "stream-idle-timeout",
      "strict-expiry",
    ]);
  });

  it("shares no key with the coturn lists", () => {
    for (const key of [...Object.keys(UNIMPLEMENTED_COTURN_OPTIONS), ...Object.keys(COTURN_OPTIONS_ALREADY_DEFAULT)]) {
      expect(findOption(key), key).toBeUndefined();
    }
  });

  it("lists in the coturn warning list the options a later stage will implement", () => {
    for (const key of ["no-dtls", "cli-password", "prometheus", "secret-ts-exp-time",
      "channel-lifetime", "permission-lifetime", "oauth"]) {
      expect(UNIMPLEMENTED_COTURN_OPTIONS[key], key).toBeDefined();
      expect(findOption(key), key).toBeUndefined();
    }
  });

  it("has a row, under coturn's name and nowhere in the coturn lists, for each TURN option", () => {
    for (const key of TURN_KEYS) {
      expect(findOption(key), key).toBeDefined();
      expect(Object.hasOwn(UNIMPLEMENTED_COTURN_OPTIONS, key), key).toBe(false);
      expect(Object.hasOwn(COTURN_OPTIONS_ALREADY_DEFAULT, key), key).toBe(false);
      expect(findOption(key)?.coturn, key).toBe(key !== "max-permissions-per-allocation");
    }
  });

  it("takes coturn's pidfile into the table: it is implemented, no longer ignored", () => {
    expect(findOption("pidfile")).toMatchObject({ field: "pidfile", coturn: true });
    expect(Object.hasOwn(UNIMPLEMENTED_COTURN_OPTIONS, "pidfile")).toBe(false);
  });

  it("accepts no-loopback-peers and no-multicast-peers silently: the peer policy already denies those", () => {
    for (const key of ["no-loopback-peers", "no-multicast-peers"]) {
      expect(COTURN_OPTIONS_ALREADY_DEFAULT[key], key).toEqual({ arity: "flag" });
      expect(Object.hasOwn(UNIMPLEMENTED_COTURN_OPTIONS, key), key).toBe(false);
    }
  });

  it("gives the secret-bearing rows parsers that format without the secret", () => {
    expect(findOption("static-auth-secret")?.parser).toBe(secretParser);
    expect(findOption("api-key")?.parser).toBe(apiKeyParser);
    expect(apiKeyParser.format("north-by-northwest")).toBe("<redacted>");
    expect(findOption("user")?.parser).toBe(staticUserParser);
    expect(secretParser.format("north-by-northwest")).toBe("<redacted>");
    expect(staticUserParser.format("alice:north-by-northwest")).toBe("alice:<redacted>");
    expect(staticUserParser.format(`alice:0x${"ab".repeat(16)}`)).toBe("alice:<redacted>");
  });

  it("keeps the secrets' defaults empty, so help has none to show", () => {
    expect(DEFAULT_CONFIG.staticAuthSecrets).toEqual([]);
    expect(DEFAULT_CONFIG.users).toEqual([]);
    expect(DEFAULT_CONFIG.apiKeys).toEqual([]);
    expect(findOption("api-key")?.defaultText).toBe("none");
    expect(findOption("static-auth-secret")?.defaultText).toBe("none");
    expect(findOption("user")?.defaultText).toBe("none");
  });
});
