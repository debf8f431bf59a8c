import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type Config } from "../../src/config/config.js";
import { configFromObject } from "../../src/config/config-from-object.js";
import { ConfigError } from "../../src/config/config-error.js";

describe("configFromObject (the programmatic API)", () => {
  it("applies the defaults", () => {
    expect(configFromObject()).toEqual(DEFAULT_CONFIG);
    expect(configFromObject({ realm: "example.org" })).toEqual({ ...DEFAULT_CONFIG, realm: "example.org" });
  });

  it("allows listening ports 0 (ephemeral), which the file does not", () => {
    expect(configFromObject({ listeningPort: 0, tlsListeningPort: 0 })).toMatchObject({ listeningPort: 0, tlsListeningPort: 0 });
  });

  it("checks every value with the table's parser, naming field and key", () => {
    expect(() => configFromObject({ listeningIps: ["192.0.2.1", "nope"] })).toThrow(
      new ConfigError('invalid value for listeningIps (listening-ip): "nope" is not an IP address', { key: "listening-ip" }),
    );
    expect(() => configFromObject({ minPort: 0 })).toThrow(/invalid value for minPort \(min-port\): 0 is not a port number \(1-65535\)/);
    expect(() => configFromObject({ logLevel: "loud" as Config["logLevel"] })).toThrow(/"loud" is not one of trace, debug/);
    expect(() => configFromObject({ externalIps: [{ public: "203.0.113.7", private: "x" }] })).toThrow(/private address "x"/);
    expect(() => configFromObject({ relayIps: "192.0.2.1" as unknown as string[] })).toThrow(
      new ConfigError("invalid value for relayIps (relay-ip): a string is not a list", { key: "relay-ip" }),
    );
  });

  it("takes the TURN fields, checked by the same parsers as the file", () => {
    const turn: Partial<Config> = {
      users: ["alice:north", `bob:0x${"0f".repeat(16)}`],
      ltCredMech: true,
      useAuthSecret: true,
      staticAuthSecrets: ["south", "east"],
      restApiSeparator: "-",
      staleNonceSeconds: 300,
      maxAllocateLifetimeSeconds: 7200,
      userQuota: 4,
      totalQuota: 500,
      maxPermissionsPerAllocation: 20,
      allowedPeerIps: ["10.0.0.5", "192.168.1.0/24"],
      deniedPeerIps: ["198.51.100.1-198.51.100.9"],
      allowLoopbackPeers: true,
    };
    expect(configFromObject(turn)).toEqual({ ...DEFAULT_CONFIG, ...turn });
  });

  it.each([
    [{ users: ["alice"] }, /^invalid value for users \(user\): user must be name:password/],
    [{ staticAuthSecrets: [""] }, /^invalid value for staticAuthSecrets \(static-auth-secret\): the secret is empty$/],
    [{ restApiSeparator: "::" }, /^invalid value for restApiSeparator \(rest-api-separator\): "::" is not one printable ASCII/],
    [{ staleNonceSeconds: 10 }, /from 30 to 86400$/],
    [{ userQuota: -1 }, /^invalid value for userQuota \(user-quota\): -1 is not a whole number from 0 to/],
    [{ totalQuota: 1.5 }, /^invalid value for totalQuota \(total-quota\): 1\.5 is not a whole number/],
    [{ maxPermissionsPerAllocation: 0 }, /max-permissions-per-allocation/],
    [{ allowedPeerIps: ["10.0.0.0/33"] }, /prefix length is 0 to 32, not 33$/],
    [{ deniedPeerIps: ["10.0.0.9-10.0.0.1"] }, /the first address is greater than the last$/],
    [{ allowLoopbackPeers: "yes" as unknown as boolean }, /: a string is not a boolean$/],
  ] as const)("refuses %j", (partial, reason) => {
    expect(() => configFromObject(partial as Partial<Config>)).toThrow(reason);
  });

  it("turns useAuthSecret on with staticAuthSecrets, as a conf file does, unless it is given", () => {
    expect(configFromObject({ staticAuthSecrets: ["north"] }).useAuthSecret).toBe(true);
    expect(configFromObject({ staticAuthSecrets: ["north"], useAuthSecret: false }).useAuthSecret).toBe(false);
    expect(configFromObject({}).useAuthSecret).toBe(false);
  });

  it("refuses a user name given twice", () => {
    expect(() => configFromObject({ users: ["alice:north", "alice:south"] })).toThrow(new ConfigError('user "alice" is defined twice', { key: "user" }));
  });

  it("puts no secret into its errors", () => {
    const secret = "Zebra-7f3c-north";
    for (const partial of [
      { staticAuthSecrets: secret as unknown as string[] },
      { staticAuthSecrets: [`${secret}\u0001`] },
      { staticAuthSecrets: [{ secret } as unknown as string] },
      { users: [{ name: "alice", password: secret } as unknown as string] },
      { users: [`:${secret}`] },
      { users: [`alice:${secret}`, `alice:${secret}`] },
    ]) {
      const run = (): Config => configFromObject(partial);
      expect(run).toThrow(ConfigError);
      expect(run).not.toThrow(secret);
    }
  });

  it("refuses an unknown field, suggesting the closest", () => {
    const partial = { listenPort: 3478 } as unknown as Partial<Config>;
    expect(() => configFromObject(partial)).toThrow('unknown config field "listenPort" (did you mean "listeningPort"?)');
  });

  it("applies the rules across fields", () => {
    expect(() => configFromObject({ minPort: 3000, maxPort: 2000 })).toThrow("max-port 2000 is below min-port 3000");
    expect(() => configFromObject({ cert: "/nonexistent/cert.pem" })).toThrow("cert is set without pkey: TLS needs both");
    expect(() => configFromObject({ cert: "/nonexistent/cert.pem", pkey: "/nonexistent/key.pem" })).toThrow(/cannot read cert file/);
  });

  it("treats an undefined optional field as unset", () => {
    expect("software" in configFromObject({ software: undefined })).toBe(false);
    expect(configFromObject({ realm: undefined }).realm).toBe("turnpike");
  });

  it("returns a frozen copy that later changes to the input do not reach", () => {
    const ips = ["192.0.2.1"];
    const config = configFromObject({ listeningIps: ips });
    ips.push("192.0.2.2");
    expect(config.listeningIps).toEqual(["192.0.2.1"]);
    expect(Object.isFrozen(config)).toBe(true);
  });
});
