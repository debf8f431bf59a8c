import { describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import { reloadedConfig } from "../../src/config/kept-until-restart.js";

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
