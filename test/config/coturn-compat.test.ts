import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/config/config.js";
import { loadConfig } from "../../src/config/load-config.js";
import { parseConfigText } from "../../src/config/parse-file.js";

const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

describe("an operator's existing coturn turnserver.conf", () => {
  it("loads, keeping what turnpike implements", () => {
    const { config } = loadConfig({ file: fixture("coturn-production.conf") });
    expect(config).toEqual({
      ...DEFAULT_CONFIG,
      listeningIps: ["10.0.0.5"],
      relayIps: ["10.0.0.5"],
      externalIps: [{ public: "203.0.113.7", private: "10.0.0.5" }],
      minPort: 49160,
      maxPort: 49200,
      logLevel: "debug",
      fingerprint: true,
      realm: "example.org",
      cert: fixture("cert-placeholder.pem"),
      pkey: fixture("pkey-placeholder.pem"),
      logFile: "stdout",
    });
  });

  it("warns once, naming every ignored option once, in file order", () => {
    const { warnings } = loadConfig({ file: fixture("coturn-production.conf") });
    expect(warnings).toHaveLength(1);
    const [listed = "", notEnforced = ""] = (warnings[0] ?? "").split("; ");
    expect(listed).toBe(
      "ignoring coturn options turnpike does not implement yet: use-auth-secret, static-auth-secret, total-quota, user-quota, max-bps, " +
        "stale-nonce, cipher-list, no-tlsv1, no-tlsv1_1, no-multicast-peers, denied-peer-ip, allowed-peer-ip, simple-log, syslog, " +
        "pidfile, no-cli, response-origin-only-with-rfc5780",
    );
    expect(notEnforced).toMatch(/use-auth-secret, static-auth-secret, total-quota, user-quota, max-bps, no-multicast-peers, denied-peer-ip$/);
  });

  it("keeps quoted values with their inner characters", () => {
    const entries = parseConfigText('pidfile="/var/run/turnserver.pid"\ncipher-list="A:B"', "t.conf");
    expect(entries.map((entry) => entry.value)).toEqual(["/var/run/turnserver.pid", "A:B"]);
  });
});
