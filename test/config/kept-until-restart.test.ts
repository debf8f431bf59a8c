import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/config.js";
import { configFromObject } from "../../src/config/config-from-object.js";
import { KEPT_UNTIL_RESTART, reloadedConfig } from "../../src/config/kept-until-restart.js";
import { OPTIONS } from "../../src/config/options.js";

// What a reload puts in force (turn-runtime.ts reload, server.ts reload, the API's getters).
const RELOADED: readonly (keyof Config)[] = [
  "users",
  "allocationDefaultAddressFamily",
  "useAuthSecret",
  "staticAuthSecrets",
  "restApiSeparator",
  "maxAllocateLifetimeSeconds",
  "userQuota",
  "totalQuota",
  "maxPermissionsPerAllocation",
  "maxChannelsPerAllocation",
  "allowedPeerIps",
  "deniedPeerIps",
  "allowLoopbackPeers",
  "strictExpiry",
  "maxBps",
  "bpsCapacity",
  "drainGraceSeconds",
  "apiKeys",
  "restDefaultTtlSeconds",
  "restMaxTtlSeconds",
  "restUriHost",
  // Renewed on reload; turning TLS on or off is kept (tested below).
  "cert",
  "pkey",
];
// Read by no server code: lt-cred-mech is coturn's switch (users count whenever given), and state-file is
// read by the CLI on each reload.
const NOT_READ_BY_THE_SERVER: readonly (keyof Config)[] = ["ltCredMech", "stateFile"];

describe("what a reload puts in force (reloadedConfig)", () => {
  const started = configFromObject({ listeningIps: ["127.0.0.1"], realm: "a.example", apiKeys: ["old-key-0123456789"], minPort: 40000 });

  it("takes the reloadable options from the new file and keeps the rest as started, naming those that changed", () => {
    const next = configFromObject({
      listeningIps: ["127.0.0.2"],
      realm: "b.example",
      apiKeys: ["new-key-0123456789"],
      minPort: 40000,
      restDefaultTtlSeconds: 120,
      users: ["alice:pw"],
    });
    const { config, kept } = reloadedConfig(started, next);
    expect(kept).toEqual(["listening-ip", "realm"]);
    expect(config.listeningIps).toEqual(["127.0.0.1"]);
    expect(config.realm).toBe("a.example");
    expect(config.apiKeys).toEqual(["new-key-0123456789"]);
    expect(config.restDefaultTtlSeconds).toBe(120);
    expect(config.users).toEqual(["alice:pw"]);
  });

  it("sorts every option into reloaded or kept until a restart, so a new one cannot be left out", () => {
    const sorted = new Set<string>([...RELOADED, ...KEPT_UNTIL_RESTART, ...NOT_READ_BY_THE_SERVER]);
    expect(OPTIONS.map((option) => option.field).filter((field) => !sorted.has(field))).toEqual([]);
    expect(RELOADED.filter((field) => (KEPT_UNTIL_RESTART as readonly string[]).includes(field))).toEqual([]);
  });

  // The packet path and the TCP/TLS listeners are built with these at start: a reload cannot change them.
  it.each([
    ["fingerprint", { fingerprint: true }],
    ["software", { software: "turnpike" }],
    ["mapped-address", { mappedAddress: true }],
    ["stale-nonce", { staleNonceSeconds: 60 }],
    ["unauthorized-ratelimit", { unauthorizedRatelimit: false }],
    ["rfc5766-channel-numbers", { rfc5766ChannelNumbers: true }],
    ["heap-trim", { heapTrim: false }],
    ["stream-idle-timeout", { streamIdleTimeoutSeconds: 5 }],
    ["max-allocate-timeout", { maxAllocateTimeoutSeconds: 5 }],
    ["max-tcp-connections", { maxTcpConnections: 10 }],
    ["max-tcp-connections-per-ip", { maxTcpConnectionsPerIp: 10 }],
  ] as const)("keeps %s as started and names it in the warning", (key, change) => {
    const { config, kept } = reloadedConfig(started, { ...started, ...change });
    expect(kept).toEqual([key]);
    expect(config).toEqual(started);
  });

  it("names nothing and changes nothing when only reloadable options differ", () => {
    const next = configFromObject({ listeningIps: ["127.0.0.1"], realm: "a.example", apiKeys: ["new-key-0123456789"], minPort: 40000 });
    const { config, kept } = reloadedConfig(started, next);
    expect(kept).toEqual([]);
    expect(config).toEqual(next);
  });

  it("reloads cert and pkey while TLS runs (a renewal), but keeps TLS off, or on, until a restart", () => {
    // Paths only: reloadedConfig reads no file (the loader has checked them).
    const withTls = { ...started, cert: "/etc/turn/a.pem", pkey: "/etc/turn/a.key" };
    const renewed = reloadedConfig(withTls, { ...started, cert: "/etc/turn/b.pem", pkey: "/etc/turn/b.key" });
    expect(renewed.kept).toEqual([]);
    expect(renewed.config.cert).toBe("/etc/turn/b.pem");

    const turnedOff = reloadedConfig(withTls, started);
    expect(turnedOff.kept).toEqual(["cert", "pkey"]);
    expect(turnedOff.config.cert).toBe("/etc/turn/a.pem");
    expect(turnedOff.tlsKept).toBe(true);
    expect(renewed.tlsKept).toBe(false);

    // Turned off after a renewal: the renewed certificate stays in force, not the one of the start.
    const offAfterRenewal = reloadedConfig(withTls, { ...started, noTls: true, cert: "/etc/turn/b.pem", pkey: "/etc/turn/b.key" }, renewed.config);
    expect(offAfterRenewal.config).toMatchObject({ cert: "/etc/turn/b.pem", pkey: "/etc/turn/b.key", noTls: false });
    expect(offAfterRenewal.kept).toEqual(["no-tls", "cert", "pkey"]);

    const turnedOn = reloadedConfig(started, { ...started, cert: "/etc/turn/b.pem", pkey: "/etc/turn/b.key" });
    expect(turnedOn.kept).toEqual(["cert", "pkey"]);
    expect(turnedOn.config.cert).toBeUndefined();
  });
});
