import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/config/config.js";
import { loadConfig } from "../../src/config/load-config.js";
import { parseConfigText } from "../../src/config/parse-file.js";
import { parseIpRange } from "../../src/turn/ip-range.js";
import { createPeerPolicy } from "../../src/turn/peer-policy.js";
import { testPem } from "../helpers/tls-cert.js";

const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

// The fixture as deployed: next to the certificate and key it names, with its pidfile somewhere writable.
const deployed = mkdtempSync(join(tmpdir(), "turnpike-coturn-conf-"));
afterAll(() => rmSync(deployed, { recursive: true, force: true }));
const conf = join(deployed, "turnserver.conf");
const pidfile = join(deployed, "turnserver.pid");
copyFileSync(fixture("coturn-production.conf"), conf);
writeFileSync(conf, readFileSync(conf, "utf8").replace('pidfile="/var/run/turnserver.pid"', `pidfile="${pidfile}"`));
writeFileSync(join(deployed, "turn_server_cert.pem"), testPem().cert);
writeFileSync(join(deployed, "turn_server_pkey.pem"), testPem().key);

describe("an operator's existing coturn turnserver.conf", () => {
  it("loads, keeping what turnpike implements", () => {
    const { config } = loadConfig({ file: conf });
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
      cert: join(deployed, "turn_server_cert.pem"),
      pkey: join(deployed, "turn_server_pkey.pem"),
      logFile: "stdout",
      useAuthSecret: true,
      staticAuthSecrets: ["north"],
      totalQuota: 100,
      userQuota: 12,
      staleNonceSeconds: 600,
      deniedPeerIps: ["10.0.0.0-10.255.255.255", "192.168.0.0-192.168.255.255"],
      allowedPeerIps: ["10.0.0.5"],
      pidfile,
      maxBps: 3_000_000,
    });
  });

  it("warns once, naming every ignored option once, in file order", () => {
    const { warnings } = loadConfig({ file: conf });
    expect(warnings).toEqual([
      "ignoring coturn options turnpike does not implement yet: cipher-list, simple-log, syslog, " +
        "no-cli, response-origin-only-with-rfc5780",
    ]);
  });

  it("warns when no-loopback-peers and allow-loopback-peers are both set, since only one can hold", () => {
    const both = loadConfig({ file: conf, args: ["--allow-loopback-peers"] });
    expect(both.config.allowLoopbackPeers).toBe(true);
    expect(both.warnings).toContain("no-loopback-peers and allow-loopback-peers are both set: allow-loopback-peers wins, and loopback peers are allowed");
    expect(loadConfig({ args: ["--allow-loopback-peers"] }).warnings).toEqual([]);
    expect(loadConfig({ args: ["--allow-loopback-peers", "--no-loopback-peers=false"] }).warnings).toEqual([]);
    expect(loadConfig({ args: ["--allow-loopback-peers", "--no-loopback-peers=yes"] }).warnings).toHaveLength(1);
    // The last one given counts: the file's no-loopback-peers, undone on the command line.
    expect(loadConfig({ file: conf, args: ["--allow-loopback-peers", "--no-loopback-peers=false"] }).warnings.join("\n")).not.toMatch(/allow-loopback-peers/);
    expect(loadConfig({ file: conf }).warnings.join("\n")).not.toMatch(/allow-loopback-peers/);
  });

  it("enforces no-loopback-peers and no-multicast-peers by default, which is why they load without a warning", () => {
    const { config, warnings } = loadConfig({ file: conf });
    expect(warnings[0]).not.toMatch(/no-multicast-peers|no-loopback-peers/);
    const policy = createPeerPolicy({
      allowLoopbackPeers: config.allowLoopbackPeers,
      allowedPeerRanges: config.allowedPeerIps.map(parseIpRange),
      deniedPeerRanges: config.deniedPeerIps.map(parseIpRange),
      ownEndpoints: [],
    });
    for (const peer of ["127.0.0.1", "::1", "224.0.0.251", "239.255.255.250", "ff02::1", "ff05::1:3"]) {
      expect(policy.isPeerAddressAllowed(peer), peer).toBe(false);
    }
    // The fixture's allowed-peer-ip punches through its own denied-peer-ip; its neighbours stay denied.
    expect(policy.isPeerAddressAllowed("10.0.0.5")).toBe(true);
    expect(policy.isPeerAddressAllowed("10.0.0.6")).toBe(false);
    expect(policy.isPeerAddressAllowed("8.8.8.8")).toBe(true);
  });

  it("keeps quoted values with their inner characters", () => {
    const entries = parseConfigText('pidfile="/var/run/turnserver.pid"\ncipher-list="A:B"', "t.conf");
    expect(entries.map((entry) => entry.value)).toEqual(["/var/run/turnserver.pid", "A:B"]);
  });
});
