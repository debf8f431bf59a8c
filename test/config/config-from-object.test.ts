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
    expect(() => configFromObject({ relayIps: "192.0.2.1" as unknown as string[] })).toThrow(/is not a list/);
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
