import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeSelfSignedCertificate, testPem } from "../helpers/tls-cert.js";
import { DEFAULT_CONFIG } from "../../src/config/config.js";
import { ConfigError } from "../../src/config/config-error.js";
import { loadConfig } from "../../src/config/load-config.js";
import { describeFsError } from "../../src/config/validate-config.js";
import { catchError } from "./catch-error.js";
import { useTempDir } from "./temp-dir.js";

const temp = useTempDir();

function loadText(text: string, args: readonly string[] = []) {
  return loadConfig({ file: temp.write("turnserver.conf", text), args });
}

function errorOf(run: () => unknown): ConfigError {
  const error = catchError(run);
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe("loadConfig: defaults <- file <- command line", () => {
  it("gives the defaults with no file and no flags", () => {
    expect(loadConfig()).toEqual({ config: DEFAULT_CONFIG, warnings: [] });
    expect(loadConfig({ args: [] }).config.listeningPort).toBe(3478);
  });

  it("reads every kind of value from the file", () => {
    const { config, warnings } = loadText(
      [
        "listening-ip=192.0.2.10",
        "listening-ip 2001:db8::10",
        "listening-port=3479",
        "tls-listening-port=5350",
        "relay-ip=192.0.2.10",
        "external-ip=203.0.113.7/192.0.2.10",
        "min-port=50000",
        "max-port=50100",
        "realm=example.org",
        "no-tcp",
        "fingerprint",
        "mapped-address",
        "stream-idle-timeout=45",
        "log-level=warn",
        "software=turnpike",
        "user=alice:north",
        `user bob:0x${"0f".repeat(16)}`,
        "lt-cred-mech",
        "use-auth-secret",
        "static-auth-secret=south",
        "rest-api-separator=-",
        "stale-nonce=300",
        "max-allocate-lifetime=7200",
        "user-quota=4",
        "total-quota=500",
        "max-permissions-per-allocation=20",
        "allowed-peer-ip=10.0.0.5",
        "allowed-peer-ip 192.168.1.0/24",
        "denied-peer-ip=198.51.100.1-198.51.100.9",
        "allow-loopback-peers",
        "rfc5766-channel-numbers",
      ].join("\n"),
    );
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      ...DEFAULT_CONFIG,
      listeningIps: ["192.0.2.10", "2001:db8::10"],
      listeningPort: 3479,
      tlsListeningPort: 5350,
      relayIps: ["192.0.2.10"],
      externalIps: [{ public: "203.0.113.7", private: "192.0.2.10" }],
      minPort: 50000,
      maxPort: 50100,
      realm: "example.org",
      noTcp: true,
      fingerprint: true,
      mappedAddress: true,
      streamIdleTimeoutSeconds: 45,
      logLevel: "warn",
      software: "turnpike",
      users: ["alice:north", `bob:0x${"0f".repeat(16)}`],
      ltCredMech: true,
      useAuthSecret: true,
      staticAuthSecrets: ["south"],
      restApiSeparator: "-",
      staleNonceSeconds: 300,
      maxAllocateLifetimeSeconds: 7200,
      userQuota: 4,
      totalQuota: 500,
      maxPermissionsPerAllocation: 20,
      allowedPeerIps: ["10.0.0.5", "192.168.1.0/24"],
      deniedPeerIps: ["198.51.100.1-198.51.100.9"],
      allowLoopbackPeers: true,
      rfc5766ChannelNumbers: true,
    });
  });

  it("returns a frozen config", () => {
    const { config } = loadText("listening-ip=192.0.2.10");
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listeningIps)).toBe(true);
  });

  it("lets command-line flags win over the file", () => {
    const { config } = loadText("listening-port=3479\nrealm=file.example\nno-udp", ["--listening-port", "4000", "--realm=cli.example", "--no-udp=false"]);
    expect(config).toMatchObject({ listeningPort: 4000, realm: "cli.example", noUdp: false });
  });

  it("reads heap-trim as on by default, off with heap-trim=false in the file or --heap-trim=false", () => {
    expect(loadText("").config.heapTrim).toBe(true);
    expect(loadText("heap-trim=false").config.heapTrim).toBe(false);
    expect(loadText("heap-trim=false", ["--heap-trim"]).config.heapTrim).toBe(true);
    expect(loadText("", ["--heap-trim=false"]).config.heapTrim).toBe(false);
  });

  it("replaces the file's list when a repeatable option is given on the command line", () => {
    const { config } = loadText("listening-ip=192.0.2.10\nlistening-ip=192.0.2.11\nrelay-ip=192.0.2.20", [
      "--listening-ip",
      "198.51.100.1",
      "--listening-ip=198.51.100.2",
    ]);
    expect(config.listeningIps).toEqual(["198.51.100.1", "198.51.100.2"]);
    expect(config.relayIps).toEqual(["192.0.2.20"]);
  });

  it("maps coturn's verbose to debug and Verbose to trace; the last level given wins", () => {
    expect(loadText("verbose").config.logLevel).toBe("debug");
    expect(loadText("Verbose").config.logLevel).toBe("trace");
    expect(loadText("verbose\nlog-level=error").config.logLevel).toBe("error");
    expect(loadText("log-level=error", ["--Verbose"]).config.logLevel).toBe("trace");
  });

  it("maps coturn's no-stun-backward-compatibility and no-software-attribute onto their fields", () => {
    expect(loadText("mapped-address\nno-stun-backward-compatibility").config.mappedAddress).toBe(false);
    expect(loadText("software=x\nno-software-attribute").config.software).toBeUndefined();
    expect("software" in loadText("software=x\nno-software-attribute").config).toBe(false);
  });

  it("resolves cert and pkey relative to the config file", () => {
    temp.write("cert.pem", testPem().cert);
    temp.write("key.pem", testPem().key);
    const { config } = loadText("cert=cert.pem\npkey=key.pem");
    expect(config.cert).toBe(join(temp.path(), "cert.pem"));
    expect(config.pkey).toBe(join(temp.path(), "key.pem"));
  });

  it('reads log-file "-" as stdout and resolves a log path against the file', () => {
    expect(loadText("log-file=-").config.logFile).toBe("stdout");
    expect(loadText("log-file=turnpike.log").config.logFile).toBe(join(temp.path(), "turnpike.log"));
  });

  it("warns when a single-valued key is given twice in the file; the last one wins", () => {
    const { config, warnings } = loadText("realm=a\n\nrealm=b");
    expect(config.realm).toBe("b");
    expect(warnings).toEqual([expect.stringMatching(/turnserver\.conf:3: realm is also set on line 1; the last one wins/)]);
  });
});

describe("loadConfig: coturn's options not implemented yet", () => {
  it("loads them with exactly one warning naming each once", () => {
    const { config, warnings } = loadText("no-dtls\ncli-password=north\ncli-password=south\nsyslog\nrealm=example.org\ncli-port=5766\ndaemon");
    expect(config).toEqual({ ...DEFAULT_CONFIG, realm: "example.org" });
    expect(warnings).toEqual(["ignoring coturn options turnpike does not implement yet: no-dtls, cli-password, syslog, cli-port, daemon"]);
  });

  it("says when an ignored option would have restricted access", () => {
    const [warning] = loadText("CA-file=/etc/ca.pem\noauth\nsyslog").warnings;
    expect(warning).toMatch(/: CA-file, oauth, syslog; NOT enforced, so access is less restricted than they ask: CA-file, oauth$/);
    expect(loadText("syslog\ndaemon").warnings[0]).not.toMatch(/NOT enforced/);
  });

  it("says what an ignored user database means: its users refused, its quotas and peer rules not enforced", () => {
    const [warning] = loadText("userdb=/var/lib/turn/turndb\noauth\nredis-userdb=\"ip=127.0.0.1\"").warnings;
    expect(warning).toBe(
      "ignoring coturn options turnpike does not implement yet: userdb, oauth, redis-userdb" +
        "; NOT enforced, so access is less restricted than they ask: oauth" +
        "; NOT read, so the users and secrets kept there are refused, and the quotas and peer rules kept there are not enforced: userdb, redis-userdb",
    );
  });

  it("says what to do instead where turnpike has it, and takes TLS below 1.2 and no-tcp-relay as what it does anyway", () => {
    const { warnings } = loadText("proc-user=turnserver\nproc-group=turnserver\nno-tlsv1\nno-tlsv1_1\nno-sslv3\nno-tcp-relay\nprometheus");
    expect(warnings).toEqual([
      "ignoring coturn options turnpike does not implement yet: proc-user, proc-group, prometheus; " +
        "proc-user, proc-group: NOT applied, turnpike never changes its user: start it as that user (systemd User=, Group=); " +
        "prometheus: turnpike's Prometheus metrics are at /metrics on the credential endpoint (none with no-api)",
    ]);
  });

  it("counts the file's and the command line's together in the one warning", () => {
    const { warnings } = loadText("syslog", ["--cli-port", "5766", "--no-dtls", "--prometheus"]);
    expect(warnings).toEqual(["ignoring coturn options turnpike does not implement yet: syslog, cli-port, no-dtls, prometheus; prometheus: turnpike's Prometheus metrics are at /metrics on the credential endpoint (none with no-api)"]);
  });

  it("accepts coturn options that already describe turnpike's behaviour without a warning", () => {
    expect(loadText("no-rfc5780\nprod\nno-loopback-peers\nno-multicast-peers")).toEqual({ config: DEFAULT_CONFIG, warnings: [] });
  });

  it("no longer lists the TURN options among them: they load silently and take effect", () => {
    const { config, warnings } = loadText("lt-cred-mech\nuser=alice:north\nuse-auth-secret\nstatic-auth-secret=south\nstale-nonce\nuser-quota=3");
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ ltCredMech: true, users: ["alice:north"], useAuthSecret: true, staticAuthSecrets: ["south"], userQuota: 3 });
  });
});

describe("loadConfig: the TURN options", () => {
  it("reads a bare stale-nonce as 600 seconds, and stale-nonce=300 or stale-nonce 300 as 300", () => {
    expect(loadText("stale-nonce=300").config.staleNonceSeconds).toBe(300);
    expect(loadText("stale-nonce 300").config.staleNonceSeconds).toBe(300);
    expect(loadText("stale-nonce").config.staleNonceSeconds).toBe(600);
    // The bare form sets 600, not "leaves the earlier value": it overrides the file's 300.
    expect(loadText("stale-nonce=300", ["--stale-nonce"]).config.staleNonceSeconds).toBe(600);
    expect(loadText("stale-nonce", ["--stale-nonce=45"]).config.staleNonceSeconds).toBe(45);
  });

  it("takes stale-nonce's command-line value only after =, as coturn's optional argument", () => {
    expect(errorOf(() => loadConfig({ args: ["--stale-nonce", "300"] })).message).toBe(
      'command line: unexpected argument after --stale-nonce, which takes its value only after "=" (--stale-nonce=<value>), not shown as it may be a secret; options are --key value, --key=value or a bare --flag',
    );
  });

  it("keeps repeated static-auth-secret lines in order (the first mints), the command line replacing them", () => {
    const file = "use-auth-secret\nstatic-auth-secret=north\nrealm=example.org\nstatic-auth-secret=south\nstatic-auth-secret=east";
    const { config, warnings } = loadText(file);
    expect(config.staticAuthSecrets).toEqual(["north", "south", "east"]);
    expect(warnings).toEqual([]);
    expect(loadText(file, ["--static-auth-secret", "west", "--static-auth-secret=north"]).config.staticAuthSecrets).toEqual(["west", "north"]);
  });

  it("turns use-auth-secret on with a static-auth-secret, as coturn does; warns of a secret with use-auth-secret=false, and of the reverse, without echoing the secret", () => {
    const secretAlone = loadText("static-auth-secret=hunter2");
    expect(secretAlone.config.useAuthSecret).toBe(true);
    expect(secretAlone.warnings).toEqual([]);
    expect(loadText("", ["--static-auth-secret", "hunter2"]).config.useAuthSecret).toBe(true);
    const secretOnly = loadText("use-auth-secret=false\nstatic-auth-secret=hunter2");
    expect(secretOnly.config.useAuthSecret).toBe(false);
    expect(secretOnly.warnings).toEqual(["static-auth-secret is ignored: use-auth-secret is false, so REST credentials will all be refused"]);
    expect(loadText("static-auth-secret=hunter2", ["--use-auth-secret=false"]).config.useAuthSecret).toBe(false);
    const switchOnly = loadText("use-auth-secret");
    expect(switchOnly.warnings).toEqual(["use-auth-secret is set but no static-auth-secret is given: REST credentials will all be refused"]);
    expect(loadText("use-auth-secret\nstatic-auth-secret=hunter2").warnings).toEqual([]);
    expect(secretOnly.warnings.join("\n")).not.toContain("hunter2");
  });

  it("keeps user, allowed-peer-ip and denied-peer-ip lines in order", () => {
    const { config } = loadText("user=bob:b\nallowed-peer-ip=10.0.0.2\nuser=alice:a\nallowed-peer-ip=10.0.0.1\ndenied-peer-ip=192.0.2.9\ndenied-peer-ip=192.0.2.1");
    expect(config.users).toEqual(["bob:b", "alice:a"]);
    expect(config.allowedPeerIps).toEqual(["10.0.0.2", "10.0.0.1"]);
    expect(config.deniedPeerIps).toEqual(["192.0.2.9", "192.0.2.1"]);
  });

  it("reads user-quota=0 and total-quota=0 as coturn does (no limit): the largest limit each can have", () => {
    const { config } = loadText("realm=example.org\nuser-quota=0\ntotal-quota=0");
    expect(config).toMatchObject({ userQuota: 1_000_000, totalQuota: 10_000_000 });
  });

  it.each([
    ["user=alice", 'invalid value for user: user must be name:password or name:0x<md5 key>, no colon found'],
    ["user=:north", "invalid value for user: user name is empty"],
    [`user=alice:0x${"ab".repeat(15)}`, 'invalid value for user: user "alice": a 0x key must be 32 hex digits (an MD5 key), got 30'],
    [`user=alice:0x${"zz".repeat(16)}`, 'invalid value for user: user "alice": the 0x key has characters that are not hex digits'],
    ["allowed-peer-ip 10.0.0.0/33", 'invalid value for allowed-peer-ip: "10.0.0.0/33" is not a CIDR: an IPv4 prefix length is 0 to 32, not 33'],
    ["denied-peer-ip=10.0.0.9-10.0.0.1", 'invalid value for denied-peer-ip: "10.0.0.9-10.0.0.1" is not an IP range: the first address is greater than the last'],
    ["allowed-peer-ip=intranet", 'invalid value for allowed-peer-ip: "intranet" is not an IP range: "intranet" is not an IPv4 or IPv6 address'],
    ["rest-api-separator=::", 'invalid value for rest-api-separator: "::" is not one printable ASCII character other than a digit or a space'],
    ["rest-api-separator=€", 'invalid value for rest-api-separator: "€" is not one printable ASCII character other than a digit or a space'],
    ["stale-nonce=10", "invalid value for stale-nonce: 10 is not a whole number of seconds from 30 to 86400"],
    ["max-allocate-lifetime=60", "invalid value for max-allocate-lifetime: 60 is not a whole number of seconds from 600 to 86400"],
    ["user-quota=1000001", "invalid value for user-quota: 1000001 is not a whole number from 0 to 1000000"],
    ["total-quota=10000001", "invalid value for total-quota: 10000001 is not a whole number from 0 to 10000000"],
    ["max-permissions-per-allocation=0", "invalid value for max-permissions-per-allocation: 0 is not a whole number from 1 to 100000"],
    ["user-quota=-1", 'invalid value for user-quota: "-1" is not a whole number from 0 to 1000000'],
    ["static-auth-secret=", "static-auth-secret needs a value (<secret>)"],
    ["user", "user needs a value (<name:password>)"],
    ["use-auth-secret=maybe", "invalid value for use-auth-secret: a flag is given bare, or with true/false, yes/no, on/off, 1/0; the secret goes in static-auth-secret"],
  ])("refuses %j with the file, the line and the reason", (line, reason) => {
    const file = join(temp.path(), "turnserver.conf");
    const error = errorOf(() => loadText(`realm=example.org\n${line}`));
    expect(error).toMatchObject({ file, line: 2, reason });
    expect(error.message).toBe(`${file}:2: ${reason}`);
  });

  it("refuses a user name given twice, at the second line, naming the first", () => {
    const error = errorOf(() => loadText("user=alice:north\nuser=bob:b\n\nuser=alice:south"));
    expect(error).toMatchObject({ line: 4, key: "user", reason: 'user "alice" is defined twice (also on line 1)' });
    expect(loadText("user=alice:north\nuser=bob:south").config.users).toHaveLength(2);
  });

  it("refuses a user name given twice on the command line, as the command line", () => {
    expect(errorOf(() => loadText("user=alice:north", ["--user", "bob:b", "--user", "bob:c"])).message).toBe(
      'command line: user "bob" is defined twice',
    );
    // The command line replaces the file's users, so naming a file user again there is no repeat.
    expect(loadText("user=alice:north", ["--user", "alice:south"]).config.users).toEqual(["alice:south"]);
  });
});

describe("loadConfig: a secret appears in no error and no warning", () => {
  const SECRET = "Zebra-7f3c-north";

  it.each([
    ["a control character in static-auth-secret", `static-auth-secret=${SECRET}\u0001`],
    ["text after a quoted static-auth-secret", `static-auth-secret="${SECRET}" ${SECRET}`],
    ["an unterminated quote", `static-auth-secret="${SECRET}`],
    ["a value glued to the key", `static-auth-secret:${SECRET}`],
    ["a glued value with a typo in the key", `static-auth-secre:${SECRET}`],
    ["a user without a colon", `user=${SECRET}`],
    ["a user without a name", `user=:${SECRET}`],
    ["a 0x key of the wrong length", `user=alice:0x${"ab".repeat(15)}`],
    ["a 0x key that is not hex", `user=alice:0x${SECRET.padEnd(32, "q")}`],
    ["a user given twice", `user=alice:${SECRET}\nuser=alice:${SECRET}2`],
  ])("with %s", (_what, text) => {
    const error = errorOf(() => loadText(`realm=example.org\n${text}`));
    expect(error.message).toMatch(/turnserver\.conf:\d+: /);
    // The whole error, as a logger would serialize it, not just its message.
    const serialized = JSON.stringify({ ...error, message: error.message });
    expect(serialized).not.toContain(SECRET);
    expect(serialized).not.toContain("ab".repeat(15));
  });

  it.each([
    ["a glued value", [`--static-auth-secret:${SECRET}`]],
    ["a control character", [`--static-auth-secret=${SECRET}\u0007`]],
    ["a malformed user", ["--user", SECRET]],
  ])("on the command line, with %s", (_what, args) => {
    const error = errorOf(() => loadConfig({ args }));
    expect(error.message).toMatch(/^command line: /);
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(SECRET);
  });

  it("in the warnings", () => {
    const text = [
      `static-auth-secret=${SECRET}`,
      `user=alice:${SECRET}`,
      "use-auth-secret",
      "use-auth-secret",
      "realm=a",
      "realm=b",
      `cli-password=${SECRET}`,
      "oauth",
    ].join("\n");
    const { warnings } = loadText(text, [`--static-auth-secret=${SECRET}`, "--user", `bob:${SECRET}`]);
    expect(warnings).toHaveLength(3);
    for (const warning of warnings) expect(warning).not.toContain(SECRET);
  });
});

describe("loadConfig: errors carry file, line, key and a suggestion", () => {
  it("names an unknown key and the closest known one", () => {
    const error = errorOf(() => loadText("realm=x\n\nlistenig-port=3478"));
    expect(error.message).toBe(`${join(temp.path(), "turnserver.conf")}:3: unknown option "listenig-port" (did you mean "listening-port"?)`);
    expect(error).toMatchObject({ file: join(temp.path(), "turnserver.conf"), line: 3, key: "listenig-port" });
  });

  it("suggests coturn's spellings too, and nothing when no key is close", () => {
    expect(errorOf(() => loadText("lt-cred-mec")).message).toMatch(/unknown option "lt-cred-mec" \(did you mean "lt-cred-mech"\?\)$/);
    expect(errorOf(() => loadText("frobnicate=1")).message).toMatch(/unknown option "frobnicate"$/);
  });

  it.each(["ZebraSecret0123456789", "WmVicmFTZWNyZXQwMTIzNDU2Nzg5MA==", "hfyzo7J+Ihl/T9ApkIhDrypEF01eihHf7xarTxqVDWA="])(
    "does not echo a word close to no option name, alone or before a bare =: it may be a value on a line of its own (%s)",
    (secret) => {
      const error = errorOf(() => loadText(`realm=example.org\n# the secret:\n${secret}`));
      expect(error.message).toBe(
        `${join(temp.path(), "turnserver.conf")}:3: unknown option (not shown: it is close to no option name and may be a value on a line of its own); ` +
          'a line holds "key=value", "key value" or a bare flag',
      );
      expect(error).toMatchObject({ line: 3, key: undefined });
    },
  );

  it("shows none of a value glued straight to an option name in the file", () => {
    for (const line of ["static-auth-secretNorthWind42", "static-auth-secretNorthWind42=x", "static-auth-secretNorthWind42 x", "static-auth-secretNo+rth/42"]) {
      const error = errorOf(() => loadText(`realm=x\n${line}`));
      expect(error.message, line).toBe(`${join(temp.path(), "turnserver.conf")}:2: unknown option "static-auth-secret…" (did you mean "static-auth-secret"?)`);
    }
  });

  it("still names an unknown option given a value, or close to a known one", () => {
    expect(errorOf(() => loadText("frobnicate=1")).message).toMatch(/unknown option "frobnicate"$/);
    expect(errorOf(() => loadText("no-udpp")).message).toMatch(/unknown option "no-udpp" \(did you mean "no-udp"\?\)$/);
  });

  it("gives the reason for a bad value", () => {
    const error = errorOf(() => loadText("min-port=49152\nmax-port=70000"));
    expect(error).toMatchObject({ line: 2, key: "max-port" });
    expect(error.reason).toBe('invalid value for max-port: "70000" is not a port number (1-65535)');
  });

  it("refuses a missing value", () => {
    expect(errorOf(() => loadText("listening-port")).reason).toBe("listening-port needs a value (<port>)");
    expect(errorOf(() => loadText("realm=")).reason).toBe("realm needs a value (<text>)");
  });

  it("refuses a value given to a bare flag", () => {
    expect(errorOf(() => loadText("verbose 2")).reason).toBe("invalid value for verbose: this flag takes no value (the value given is not shown): it stands for a log-level value; give log-level instead");
    expect(errorOf(() => loadText("no-udp=banana")).reason).toBe("invalid value for no-udp: a flag is given bare, or with true/false, yes/no, on/off, 1/0");
  });

  it("refuses a missing config file", () => {
    const file = join(temp.path(), "absent.conf");
    const error = errorOf(() => loadConfig({ file }));
    expect(error).toMatchObject({ file, line: undefined });
    expect(error.message).toBe(`${file}: cannot read config file: no such file or directory`);
  });

  it("refuses a device, a pipe or a directory as the config file (/dev/zero would never end the read, a pipe reads empty on a reload); /dev/null is no settings", () => {
    const fifo = join(temp.path(), "pipe.conf");
    execFileSync("mkfifo", [fifo]);
    for (const file of ["/dev/zero", fifo, temp.path()]) {
      const error = errorOf(() => loadConfig({ file }));
      expect(error.message).toBe(`${file}: cannot read config file: not a regular file`);
    }
    expect(loadConfig({ file: "/dev/null" }).config).toEqual(loadConfig({}).config);
  });

  it("refuses bytes that are not UTF-8, naming the line and not showing it: a Latin-1 secret would otherwise change silently", () => {
    const file = join(temp.path(), "latin1.conf");
    writeFileSync(file, Buffer.concat([Buffer.from("realm=example.org\r\nuse-auth-secret\nstatic-auth-secret=caf"), Buffer.from([0xe9]), Buffer.from("\n")]));
    const error = errorOf(() => loadConfig({ file }));
    expect(error).toMatchObject({ file, line: 3 });
    expect(error.message).toBe(`${file}:3: not valid UTF-8 (the line is not shown: it may hold a secret); save the file as UTF-8`);
    // UTF-8 (with a byte order mark) is read as before.
    writeFileSync(file, "\uFEFFstatic-auth-secret=caf\u00e9\n");
    expect(loadConfig({ file }).config.staticAuthSecrets).toEqual(["caf\u00e9"]);
  });

  it("reports command-line errors as such, with the flag spelling", () => {
    expect(errorOf(() => loadConfig({ args: ["--listenig-port", "1"] })).message).toBe(
      'command line: unknown option "--listenig-port" (did you mean "--listening-port"?)',
    );
    expect(errorOf(() => loadConfig({ args: ["--min-port=0"] })).message).toBe(
      'command line: invalid value for --min-port: "0" is not a port number (1-65535)',
    );
  });
});

describe("loadConfig: rules across fields", () => {
  it("refuses min-port above max-port, at the max-port line", () => {
    const error = errorOf(() => loadText("min-port=60000\nmax-port=50000"));
    expect(error).toMatchObject({ line: 2, key: "max-port", reason: "max-port 50000 is below min-port 60000" });
  });

  it("points at whichever of min-port and max-port was set last", () => {
    expect(errorOf(() => loadText("max-port=1000\nmin-port=2000"))).toMatchObject({ line: 2, key: "min-port" });
    expect(errorOf(() => loadText("max-port=1000", ["--min-port", "2000"]))).toMatchObject({ line: undefined, key: "min-port" });
    expect(errorOf(() => loadText("min-port=2000", ["--max-port=1000"])).message).toBe("command line: max-port 1000 is below min-port 2000");
  });

  it("needs cert and pkey together", () => {
    temp.write("cert.pem", testPem().cert);
    expect(errorOf(() => loadText("cert=cert.pem"))).toMatchObject({ line: 1, reason: "cert is set without pkey: TLS needs both" });
    temp.write("key.pem", testPem().key);
    expect(errorOf(() => loadText("\npkey=key.pem"))).toMatchObject({ line: 2, reason: "pkey is set without cert: TLS needs both" });
  });

  it("refuses a missing or unreadable cert or pkey file", () => {
    temp.write("key.pem", testPem().key);
    const missing = errorOf(() => loadText("cert=absent.pem\npkey=key.pem"));
    expect(missing).toMatchObject({ line: 1, key: "cert" });
    expect(missing.reason).toMatch(/^cannot read cert file .*absent\.pem: no such file or directory$/);
    expect(errorOf(() => loadText(`cert=${temp.path()}\npkey=key.pem`)).reason).toMatch(/not a regular file/);
  });

  it("refuses a cert or pkey path that cannot exist, as any user (root included)", () => {
    temp.write("cert.pem", testPem().cert);
    temp.write("key.pem", testPem().key);
    // A regular file cannot have children: stat fails with ENOTDIR even for root, which reads any file.
    const cert = errorOf(() => loadText("cert=key.pem/cert.pem\npkey=key.pem"));
    expect(cert).toMatchObject({ line: 1, key: "cert" });
    expect(cert.reason).toBe(`cannot read cert file ${join(temp.path(), "key.pem", "cert.pem")}: a parent in the path is not a directory`);
    const pkey = errorOf(() => loadText("cert=cert.pem\n\npkey=cert.pem/key.pem"));
    expect(pkey).toMatchObject({ line: 3, key: "pkey" });
    expect(pkey.reason).toMatch(/^cannot read pkey file .*cert\.pem\/key\.pem: a parent in the path is not a directory$/);
  });

  it("words the file system's refusals for the operator", () => {
    const fsError = (code: string): Error => Object.assign(new Error(`${code}: raw`), { code });
    expect(describeFsError(fsError("EACCES"))).toBe("permission denied");
    expect(describeFsError(fsError("EPERM"))).toBe("permission denied");
    expect(describeFsError(fsError("ENOENT"))).toBe("no such file or directory");
    expect(describeFsError(fsError("EISDIR"))).toBe("is a directory");
    expect(describeFsError(fsError("ENOTDIR"))).toBe("a parent in the path is not a directory");
    expect(describeFsError(fsError("ELOOP"))).toBe("ELOOP: raw");
  });

  it("refuses bps-capacity without max-bps, or below it (no allocation would fit), at the later line", () => {
    expect(errorOf(() => loadText("bps-capacity=1000"))).toMatchObject({
      line: 1,
      reason: "bps-capacity needs max-bps: each allocation reserves max-bps of the capacity",
    });
    expect(errorOf(() => loadText("max-bps=1000\nbps-capacity=500"))).toMatchObject({
      line: 2,
      key: "bps-capacity",
      reason: "bps-capacity 500 is below max-bps 1000: each allocation reserves max-bps of it, so every Allocate would get 508",
    });
    expect(errorOf(() => loadText("bps-capacity=500", ["--max-bps", "1000"])).message).toBe(
      "command line: bps-capacity 500 is below max-bps 1000: each allocation reserves max-bps of it, so every Allocate would get 508",
    );
    expect(loadText("max-bps=1000\nbps-capacity=1000").config).toMatchObject({ maxBps: 1000, bpsCapacity: 1000 });
  });

  it("refuses turning off every listener", () => {
    expect(errorOf(() => loadText("no-udp\nno-tls\nno-tcp"))).toMatchObject({
      line: 3,
      reason: "no-udp, no-tcp and no-tls together leave nothing to listen on",
    });
  });

  it("refuses a log file in a directory that does not exist", () => {
    expect(errorOf(() => loadText("log-file=missing/turnpike.log")).reason).toMatch(/^cannot write log-file .*turnpike\.log: .*missing: no such file or directory$/);
  });

  it("does not check log-file or pidfile for a reload, which keeps them until a restart", () => {
    mkdirSync(join(temp.path(), "taken"));
    const file = temp.write("turnserver.conf", "log-file=taken\npidfile=missing/turnpike.pid\nuser=alice:new");
    expect(errorOf(() => loadConfig({ file, writableFiles: true })).key).toBe("log-file");
    expect(loadConfig({ file, forReload: true }).config.users).toEqual(["alice:new"]);
  });

  it("refuses a log-file or pidfile that is a directory, and takes an existing file or a new one", () => {
    mkdirSync(join(temp.path(), "logs"));
    expect(errorOf(() => loadText("\nlog-file=logs"))).toMatchObject({ line: 2, key: "log-file", reason: `cannot write log-file ${join(temp.path(), "logs")}: it is a directory` });
    expect(errorOf(() => loadText("pidfile=logs"))).toMatchObject({ line: 1, key: "pidfile", reason: `cannot write pidfile ${join(temp.path(), "logs")}: it is a directory` });
    const existing = temp.write("turnpike.log", "earlier lines\n");
    expect(loadText("log-file=turnpike.log").config.logFile).toBe(existing);
    expect(loadText("log-file=logs/turnpike.log\npidfile=logs/turnpike.pid").config.pidfile).toBe(join(temp.path(), "logs", "turnpike.pid"));
    // A dangling symbolic link is written through: the directory of the file it names must exist.
    symlinkSync(join(temp.path(), "gone", "turnpike.log"), join(temp.path(), "dangling.log"));
    expect(errorOf(() => loadText("log-file=dangling.log")).reason).toBe(
      `cannot write log-file ${join(temp.path(), "dangling.log")}: ${join(temp.path(), "gone")}: no such file or directory`,
    );
    symlinkSync(join(temp.path(), "logs", "real.log"), join(temp.path(), "pointing.log"));
    expect(loadText("log-file=pointing.log").config.logFile).toBe(join(temp.path(), "pointing.log"));
    // /dev/full is a file that takes no writes, but opening it for writing works: the logger reports its failures at run time.
    expect(loadText("log-file=/dev/full").config.logFile).toBe("/dev/full");
  });

  it("refuses TLS and TCP on one port, naming the later line; no-tcp or no-tls lets it pass", () => {
    temp.write("cert.pem", testPem().cert);
    temp.write("key.pem", testPem().key);
    const clash = errorOf(() => loadText("cert=cert.pem\npkey=key.pem\nlistening-port=443\ntls-listening-port=443"));
    expect(clash).toMatchObject({
      line: 4,
      key: "tls-listening-port",
      reason: "tls-listening-port 443 is also listening-port, where TCP listens: give TLS another port (5349 is the standard one), or set no-tcp",
    });
    expect(errorOf(() => loadText("cert=cert.pem\npkey=key.pem\ntls-listening-port=3478"))).toMatchObject({ line: 3 });
    expect(loadText("cert=cert.pem\npkey=key.pem\ntls-listening-port=3478\nno-tcp").config.noTcp).toBe(true);
    expect(loadText("cert=cert.pem\npkey=key.pem\ntls-listening-port=3478\nno-tls").config.noTls).toBe(true);
    // Without cert and pkey there is no TLS listener to clash.
    expect(loadText("tls-listening-port=3478").config.tlsListeningPort).toBe(3478);
  });

  it("refuses a cert and pkey that TLS cannot use together, at the later of their lines", () => {
    temp.write("cert.pem", testPem().cert);
    temp.write("key.pem", testPem().key);
    temp.write("garbage.pem", "not a certificate\n");
    const garbage = errorOf(() => loadText("cert=garbage.pem\npkey=key.pem"));
    expect(garbage).toMatchObject({ line: 2, key: "pkey" });
    expect(garbage.reason).toMatch(/^cannot use cert .*garbage\.pem with pkey .*key\.pem: .+/);
    const swapped = errorOf(() => loadText("pkey=cert.pem\n\ncert=key.pem"));
    expect(swapped).toMatchObject({ line: 3, key: "cert" });
    expect(swapped.reason).toMatch(/^cannot use cert .*key\.pem with pkey .*cert\.pem: /);
    // Another key than the certificate's.
    const other = makeSelfSignedCertificate();
    try {
      expect(errorOf(() => loadText(`cert=cert.pem\npkey=${other.keyPath}`)).reason).toMatch(/^cannot use cert .* with pkey .*: .*key values mismatch/);
    } finally {
      other.remove();
    }
    // A key of another algorithm (RSA, with an ECDSA certificate): OpenSSL's context takes it, every handshake would fail.
    const rsaKey = join(temp.path(), "rsa.pem");
    execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsaKey], { stdio: "ignore" });
    expect(errorOf(() => loadText(`cert=cert.pem\npkey=${rsaKey}`)).reason).toMatch(/^cannot use cert .* with pkey .*rsa\.pem: the private key does not belong to the certificate$/);
  });
});

describe("loadConfig: listening-ip", () => {
  it.each([
    ["listening-ip=127.0.0.1\nlistening-ip=127.0.0.1", 2, "listening-ip 127.0.0.1 is given twice (first on line 1)"],
    ["listening-ip=::1\nrealm=x\nlistening-ip=0:0:0:0:0:0:0:1", 3, "listening-ip 0:0:0:0:0:0:0:1 is ::1 again (first on line 1)"],
    ["listening-ip=0.0.0.0\nlistening-ip=127.0.0.1", 2, "listening-ip 0.0.0.0 binds every IPv4 address, 127.0.0.1 included (the other on line 1): give one or the other"],
    ["listening-ip=192.0.2.10\nlistening-ip=0.0.0.0", 2, "listening-ip 0.0.0.0 binds every IPv4 address, 192.0.2.10 included (the other on line 1): give one or the other"],
    ["listening-ip=::1\nlistening-ip=::", 2, "listening-ip :: binds every IPv6 address, ::1 included (the other on line 1): give one or the other"],
  ])("refuses an address bound twice, at the later line: %j", (text, line, reason) => {
    expect(errorOf(() => loadText(text))).toMatchObject({ line, key: "listening-ip", reason });
  });

  it("takes the wildcard of one family beside addresses of the other, and distinct addresses", () => {
    expect(loadText("listening-ip=0.0.0.0\nlistening-ip=::1").config.listeningIps).toEqual(["0.0.0.0", "::1"]);
    expect(loadText("listening-ip=::\nlistening-ip=127.0.0.1").config.listeningIps).toEqual(["::", "127.0.0.1"]);
    expect(loadText("listening-ip=127.0.0.1\nlistening-ip=127.0.0.2").config.listeningIps).toEqual(["127.0.0.1", "127.0.0.2"]);
  });

  it("refuses it on the command line too", () => {
    expect(errorOf(() => loadConfig({ args: ["--listening-ip", "127.0.0.1", "--listening-ip", "127.0.0.1"] })).message).toBe(
      "command line: listening-ip 127.0.0.1 is given twice (first given)",
    );
  });
});

describe("loadConfig: relay-ip and external-ip name real addresses", () => {
  it.each([
    ["relay-ip=0.0.0.0", 'invalid value for relay-ip: "0.0.0.0" is the unspecified address, which peers cannot send to: give an address of this machine, or leave relay-ip unset to relay on the address each client reached'],
    ["relay-ip=::", 'invalid value for relay-ip: "::" is the unspecified address, which peers cannot send to: give an address of this machine, or leave relay-ip unset to relay on the address each client reached'],
    ["relay-ip=0:0:0:0:0:0:0:0", 'invalid value for relay-ip: "0:0:0:0:0:0:0:0" is the unspecified address, which peers cannot send to: give an address of this machine, or leave relay-ip unset to relay on the address each client reached'],
    ["external-ip=0.0.0.0", 'invalid value for external-ip: public address "0.0.0.0" is the unspecified address: write the address clients reach'],
    ["external-ip=44.0.0.7/0.0.0.0", 'invalid value for external-ip: private address "0.0.0.0" is the unspecified address: write the local address it stands for'],
  ])("refuses %j at its line", (line, reason) => {
    expect(errorOf(() => loadText(`realm=example.org\n${line}`))).toMatchObject({ line: 2, reason });
  });

  it("takes an address of either family", () => {
    expect(loadText("relay-ip=192.0.2.20\nrelay-ip=2001:db8::20\nexternal-ip=44.0.0.7/192.0.2.20").config).toMatchObject({
      relayIps: ["192.0.2.20", "2001:db8::20"],
      externalIps: [{ public: "44.0.0.7", private: "192.0.2.20" }],
    });
  });
});
