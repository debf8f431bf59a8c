import { chmodSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/config/config.js";
import { ConfigError } from "../../src/config/config-error.js";
import { loadConfig } from "../../src/config/load-config.js";
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
    temp.write("cert.pem", "certificate");
    temp.write("key.pem", "key");
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
    const { config, warnings } = loadText("lt-cred-mech\nuser=alice:secret\nuser=bob:secret\nsyslog\nrealm=example.org\nstale-nonce=600\ndaemon");
    expect(config.realm).toBe("example.org");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^ignoring coturn options turnpike does not implement yet: lt-cred-mech, user, syslog, stale-nonce, daemon;/);
  });

  it("says when an ignored option would have restricted access", () => {
    const [warning] = loadText("use-auth-secret\nstatic-auth-secret=north\nsyslog").warnings;
    expect(warning).toMatch(/NOT enforced, so access is less restricted than they ask: use-auth-secret, static-auth-secret$/);
    expect(loadText("syslog\ndaemon").warnings[0]).not.toMatch(/NOT enforced/);
  });

  it("counts the file's and the command line's together in the one warning", () => {
    const { warnings } = loadText("syslog", ["--relay-threads", "4", "--lt-cred-mech"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/syslog, relay-threads, lt-cred-mech/);
  });

  it("accepts coturn options that already describe turnpike's behaviour without a warning", () => {
    expect(loadText("no-rfc5780\nprod").warnings).toEqual([]);
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
    expect(errorOf(() => loadText("verbose 2")).reason).toBe('invalid value for verbose: "2": this flag takes no value');
    expect(errorOf(() => loadText("no-udp=banana")).reason).toMatch(/^invalid value for no-udp: "banana": a flag is given bare/);
  });

  it("refuses a missing config file", () => {
    const file = join(temp.path(), "absent.conf");
    const error = errorOf(() => loadConfig({ file }));
    expect(error).toMatchObject({ file, line: undefined });
    expect(error.message).toBe(`${file}: cannot read config file: no such file or directory`);
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
    temp.write("cert.pem", "certificate");
    expect(errorOf(() => loadText("cert=cert.pem"))).toMatchObject({ line: 1, reason: "cert is set without pkey: TLS needs both" });
    temp.write("key.pem", "key");
    expect(errorOf(() => loadText("\npkey=key.pem"))).toMatchObject({ line: 2, reason: "pkey is set without cert: TLS needs both" });
  });

  it("refuses a missing or unreadable cert or pkey file", () => {
    temp.write("key.pem", "key");
    const missing = errorOf(() => loadText("cert=absent.pem\npkey=key.pem"));
    expect(missing).toMatchObject({ line: 1, key: "cert" });
    expect(missing.reason).toMatch(/^cannot read cert file .*absent\.pem: no such file or directory$/);
    expect(errorOf(() => loadText(`cert=${temp.path()}\npkey=key.pem`)).reason).toMatch(/not a regular file/);
  });

  it.skipIf(process.getuid?.() === 0)("refuses a cert file the server cannot read", () => {
    chmodSync(temp.write("cert.pem", "certificate"), 0o000);
    temp.write("key.pem", "key");
    expect(errorOf(() => loadText("cert=cert.pem\npkey=key.pem")).reason).toMatch(/permission denied/);
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
});
