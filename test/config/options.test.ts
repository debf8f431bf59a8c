import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type Config } from "../../src/config/config.js";
import { COTURN_OPTIONS_ALREADY_DEFAULT, UNIMPLEMENTED_COTURN_OPTIONS } from "../../src/config/coturn-options.js";
import { findFieldOption, findOption, OPTIONS } from "../../src/config/options.js";

// Every Config field, spelled out so that adding a field without a row fails here.
const FIELDS: readonly (keyof Config)[] = [
  "listeningIps",
  "listeningPort",
  "tlsListeningPort",
  "relayIps",
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
];

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
    expect(ours.sort()).toEqual(["log-level", "mapped-address", "software", "stream-idle-timeout"]);
  });

  it("shares no key with the coturn lists", () => {
    for (const key of [...Object.keys(UNIMPLEMENTED_COTURN_OPTIONS), ...Object.keys(COTURN_OPTIONS_ALREADY_DEFAULT)]) {
      expect(findOption(key), key).toBeUndefined();
    }
  });

  it("lists in the coturn warning list the options a later stage will implement", () => {
    for (const key of ["user", "lt-cred-mech", "use-auth-secret", "static-auth-secret", "stale-nonce", "user-quota", "total-quota",
      "max-allocate-lifetime", "allowed-peer-ip", "denied-peer-ip", "relay-threads", "max-bps", "bps-capacity", "no-multicast-peers",
      "no-loopback-peers"]) {
      expect(UNIMPLEMENTED_COTURN_OPTIONS[key], key).toBeDefined();
    }
  });
});
