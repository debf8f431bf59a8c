import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { DEFAULT_CONFIG } from "../../src/config/config.js";
import { OPTIONS } from "../../src/config/options.js";
import { useTempDir } from "../config/temp-dir.js";
import { createFakeCli, FAKE_LISTENERS } from "./fake-deps.js";
import { testPem } from "../helpers/tls-cert.js";

const temp = useTempDir();
const packageVersion = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Stands in for the server's StartupError: an operator-facing one-line failure at start. */
class StartupError extends Error {
  override name = "StartupError";
}

describe("turnpike start", () => {
  it("starts with the defaults and generated credentials when given no file and no flags, logs the listeners, and exits 0 on SIGTERM", async () => {
    const cli = createFakeCli();
    const exit = runCli(["start"], cli.deps);
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1), { timeout: 10_000 });
    const stateFile = join(cli.stateHome, "turnpike", "state.json");
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as { staticAuthSecret: string; apiKey: string };
    expect(cli.started).toEqual([
      {
        ...DEFAULT_CONFIG,
        useAuthSecret: true,
        staticAuthSecrets: [state.staticAuthSecret],
        apiKeys: [state.apiKey],
        pidfile: join(cli.stateHome, "turnpike", "turnpike.pid"),
      },
    ]);
    const started = cli.logs().find((line) => line.msg === "turnpike started");
    expect(started).toMatchObject({ level: 30, listeners: FAKE_LISTENERS, version: packageVersion, stateFile });

    cli.signal("SIGTERM");
    expect(await exit).toBe(0);
    expect(cli.closed()).toBe(1);
    expect(cli.signalHandlers()).toBe(0);
    expect(cli.logs().map((line) => line.msg)).toEqual(["turnpike started", "turnpike stopping", "turnpike stopped"]);
    expect(cli.stderr()).toBe("");
  });

  it("closes the server on SIGINT too", async () => {
    const cli = createFakeCli();
    const exit = runCli(["start"], cli.deps);
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1), { timeout: 10_000 });
    cli.signal("SIGINT");
    expect(await exit).toBe(0);
    expect(cli.logs().find((line) => line.msg === "turnpike stopping")).toMatchObject({ signal: "SIGINT" });
  });

  it("loads -c FILE with flags winning over it, and logs its warnings", async () => {
    const file = temp.write("turnserver.conf", "listening-port=3479\nrealm=file.example\nno-dtls\nuser=alice:north\n");
    const cli = createFakeCli();
    const exit = runCli(["start", "-c", file, "--realm", "cli.example", "--fingerprint", "--user-quota=3"], cli.deps);
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1), { timeout: 10_000 });
    expect(cli.started[0]).toMatchObject({ listeningPort: 3479, realm: "cli.example", fingerprint: true, users: ["alice:north"], userQuota: 3 });
    expect(cli.logs().filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
      "ignoring coturn options turnpike does not implement yet: no-dtls",
    ]);
    cli.signal("SIGTERM");
    expect(await exit).toBe(0);
  });

  it("accepts --config=FILE", async () => {
    const cli = createFakeCli();
    const exit = runCli(["start", `--config=${temp.write("t.conf", "min-port=50000")}`], cli.deps);
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1), { timeout: 10_000 });
    expect(cli.started[0]?.minPort).toBe(50000);
    cli.signal("SIGTERM");
    await exit;
  });

  it("keeps a value that looks like -c with the option it belongs to", async () => {
    const cli = createFakeCli();
    const exit = runCli(["start", "--software", "-c"], cli.deps);
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1), { timeout: 10_000 });
    expect(cli.started[0]?.software).toBe("-c");
    cli.signal("SIGTERM");
    await exit;
  });

  it("prints a StartupError as one line and exits 1", async () => {
    const cli = createFakeCli({
      start: async () => {
        throw new StartupError("cannot listen on udp 0.0.0.0:3478: address in use");
      },
    });
    expect(await runCli(["start"], cli.deps)).toBe(1);
    expect(cli.stderr()).toBe("turnpike: cannot listen on udp 0.0.0.0:3478: address in use\n");
    expect(cli.signalHandlers()).toBe(0);
  });

  it("prints any other error's message and exits 1", async () => {
    const cli = createFakeCli({
      start: async () => {
        throw new TypeError("something broke");
      },
    });
    expect(await runCli(["start"], cli.deps)).toBe(1);
    expect(cli.stderr()).toBe("turnpike: something broke\n");
  });

  it("prints a config error with file and line and exits 2, without starting", async () => {
    const file = temp.write("turnserver.conf", "realm=x\nlistenig-port=3478\n");
    const cli = createFakeCli();
    expect(await runCli(["start", "-c", file], cli.deps)).toBe(2);
    expect(cli.stderr()).toBe(`turnpike: ${file}:2: unknown option "listenig-port" (did you mean "listening-port"?)\n`);
    expect(cli.started).toEqual([]);
  });

  it("exits 2 for a missing config file", async () => {
    const cli = createFakeCli();
    expect(await runCli(["start", "-c", "absent.conf"], cli.deps)).toBe(2);
    expect(cli.stderr()).toBe("turnpike: absent.conf: cannot read config file: no such file or directory\n");
  });

  it("exits 2 for a bad flag value, an unknown flag, or -c without a file", async () => {
    for (const [args, message] of [
      [["--listening-port", "http"], 'turnpike: command line: invalid value for --listening-port: "http" is not a port number (1-65535)\n'],
      [["--listen-port", "1"], 'turnpike: command line: unknown option "--listen-port" (did you mean "--listening-port"?)\n'],
      [["-c"], "turnpike: -c needs a file name\n"],
      [["-c", "a.conf", "-c", "b.conf"], "turnpike: only one configuration file may be given\n"],
      [["stray"], "turnpike: command line: unexpected argument before the first option, not shown as it may be a secret; options are --key value, --key=value or a bare --flag\n"],
    ] as const) {
      const cli = createFakeCli();
      expect(await runCli(["start", ...args], cli.deps), args.join(" ")).toBe(2);
      expect(cli.stderr()).toBe(message);
    }
  });
});

describe("turnpike check-config", () => {
  it('prints "config OK" and exits 0 for a valid configuration', async () => {
    const cli = createFakeCli();
    expect(await runCli(["check-config", "-c", temp.write("t.conf", "realm=example.org\nuser=alice:north\napi-key=k-0123456789abcdef\n"), "--no-tcp"], cli.deps)).toBe(0);
    expect(cli.stdout()).toBe("config OK\n");
    expect(cli.stderr()).toBe("");
    expect(cli.started).toEqual([]);
  });

  it("says what start would warn of: no TURN credentials, no API keys (not for the no-config start, which generates them)", async () => {
    const cli = createFakeCli();
    expect(await runCli(["check-config", "-c", temp.write("t.conf", "realm=example.org\n")], cli.deps)).toBe(0);
    expect(cli.stderr()).toBe(
      "turnpike: warning: no user and no static-auth-secret in use: TURN allocations will be refused; only STUN Binding is served\n" +
        "turnpike: warning: no API keys configured: every credential and revoke request is refused\n",
    );
    expect(cli.stdout()).toBe("config OK\n");
    const withoutApi = createFakeCli();
    expect(await runCli(["check-config", "-c", temp.write("u.conf", "use-auth-secret\nstatic-auth-secret=north\nno-api\n")], withoutApi.deps)).toBe(0);
    expect(withoutApi.stderr()).toBe("");
    const noConfig = createFakeCli();
    expect(await runCli(["check-config"], noConfig.deps)).toBe(0);
    expect(noConfig.stderr()).toBe("");
  });

  it("warns of the credentials as start does when it would run on the state file's: use-auth-secret alone, or a secret with use-auth-secret=false, is no cause for alarm", async () => {
    const useAuthSecret = createFakeCli();
    expect(await runCli(["check-config", "--use-auth-secret"], useAuthSecret.deps)).toBe(0);
    expect(useAuthSecret.stderr()).toBe("");
    const staticSecret = createFakeCli();
    expect(await runCli(["check-config", "--static-auth-secret", "Zebra-flag-secret", "--use-auth-secret=false"], staticSecret.deps)).toBe(0);
    const stateFile = join(staticSecret.stateHome, "turnpike", "state.json");
    expect(staticSecret.stderr()).toBe(
      `turnpike: warning: static-auth-secret with use-auth-secret=false is replaced by the secret generated in ${stateFile}; drop use-auth-secret=false to use your own\n`,
    );
    // A secret alone is in use, as in coturn: the warnings of the explicit pair, and only those.
    const secretAlone = createFakeCli();
    expect(await runCli(["check-config", "--static-auth-secret", "Zebra-flag-secret"], secretAlone.deps)).toBe(0);
    const pair = createFakeCli();
    expect(await runCli(["check-config", "--use-auth-secret", "--static-auth-secret", "Zebra-flag-secret"], pair.deps)).toBe(0);
    expect(secretAlone.stderr()).toBe(pair.stderr());
    expect(secretAlone.stderr()).toBe("turnpike: warning: no API keys configured: every credential and revoke request is refused\n");
  });

  it("reads the state file start would run on, and fails as start would on a damaged or exposed one, creating none", async () => {
    const missing = createFakeCli();
    const stateFile = join(missing.stateHome, "turnpike", "state.json");
    expect(await runCli(["check-config"], missing.deps)).toBe(0);
    expect(existsSync(stateFile)).toBe(false);

    const damaged = temp.write("damaged.json", "{not json");
    chmodSync(damaged, 0o600);
    const cli = createFakeCli();
    expect(await runCli(["check-config", "--state-file", damaged], cli.deps)).toBe(1);
    expect(cli.stderr()).toMatch(new RegExp(`^turnpike: state file ${damaged.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is damaged`));
    expect(cli.stdout()).toBe("");

    const exposed = temp.write("exposed.json", "{}");
    chmodSync(exposed, 0o644);
    const open = createFakeCli();
    expect(await runCli(["check-config", "--state-file", exposed], open.deps)).toBe(1);
    expect(open.stderr()).toContain(`state file ${exposed} is accessible to group or others (mode 644)`);

    // A config that brings its own credentials never reads it.
    const own = createFakeCli();
    expect(await runCli(["check-config", "--state-file", damaged, "--user", "alice:north", "--no-api"], own.deps)).toBe(0);
  });

  it("prints the warnings before OK", async () => {
    const cli = createFakeCli();
    expect(await runCli(["check-config", "-c", temp.write("t.conf", "syslog\nuser=alice:north\nno-api\n")], cli.deps)).toBe(0);
    expect(cli.stderr()).toBe("turnpike: warning: ignoring coturn options turnpike does not implement yet: syslog\n");
    expect(cli.stdout()).toBe("config OK\n");
  });

  it("prints the error and exits 2 for an invalid configuration", async () => {
    const file = temp.write("t.conf", "min-port=60000\nmax-port=50000\n");
    const cli = createFakeCli();
    expect(await runCli(["check-config", "-c", file], cli.deps)).toBe(2);
    expect(cli.stderr()).toBe(`turnpike: ${file}:2: max-port 50000 is below min-port 60000\n`);
    expect(cli.stdout()).toBe("");
  });

  it("validates the defaults with no arguments", async () => {
    const cli = createFakeCli();
    expect(await runCli(["check-config"], cli.deps)).toBe(0);
  });

  it("refuses, as start does, what would only fail once listening: TLS on the TCP port, an unusable certificate, a directory for log-file", async () => {
    const cert = temp.write("cert.pem", testPem().cert);
    const key = temp.write("key.pem", testPem().key);
    const cases: [string, RegExp][] = [
      [`cert=${cert}\npkey=${key}\ntls-listening-port=3478\n`, /:3: tls-listening-port 3478 is also listening-port, where TCP listens/],
      [`cert=${key}\npkey=${key}\n`, /:2: cannot use cert .*key\.pem with pkey .*key\.pem: /],
      [`log-file=${temp.path()}\n`, /:1: cannot write log-file .*: it is a directory\n$/],
    ];
    for (const [text, expected] of cases) {
      for (const command of ["check-config", "start"]) {
        const cli = createFakeCli();
        expect(await runCli([command, "-c", temp.write("t.conf", text)], cli.deps), `${command} ${text}`).toBe(2);
        expect(cli.stderr()).toMatch(expected);
        expect(cli.started).toEqual([]);
      }
    }
  });
});

describe("turnpike help and version", () => {
  it.each([["--help"], ["-h"], ["help"]])("%s prints usage, the commands and every option with its doc", async (flag) => {
    const cli = createFakeCli();
    expect(await runCli([flag], cli.deps)).toBe(0);
    const help = cli.stdout();
    expect(help).toMatch(/^Usage: turnpike <command> \[options\]/);
    for (const command of ["start", "check-config", "credentials", "reload", "help [command]"]) expect(help).toContain(`  ${command} `);
    for (const option of OPTIONS) {
      expect(help).toMatch(new RegExp(`^  --${option.key}\\b.*${escapeRegExp(option.doc)}`, "m"));
    }
  });

  it("shows each value option's default", async () => {
    const cli = createFakeCli();
    await runCli(["--help"], cli.deps);
    expect(cli.stdout()).toMatch(/--listening-port <port> +UDP and TCP listening port\. \(default: 3478\)/);
    expect(cli.stdout()).toMatch(/--listening-ip <ip> +.*\(default: all interfaces; repeatable\)/);
    expect(cli.stdout()).toMatch(/--log-level <level> +Least severe level logged: trace, debug, info, warn, error, fatal, silent\. \(default: info\)/);
    expect(cli.stdout()).toMatch(/--user-quota <number> +Allocations one username may hold at once \(486 past it\); 0, as in coturn, means no limit \(1000000\)\. \(default: 10\)/);
    expect(cli.stdout()).toMatch(/--allowed-peer-ip <ip\|a-b\|cidr> +.*\(default: none; repeatable\)/);
  });

  it("shows stale-nonce's optional =<seconds> and its default, and no default for plain flags", async () => {
    const cli = createFakeCli();
    await runCli(["--help"], cli.deps);
    expect(cli.stdout()).toMatch(/^  --stale-nonce\[=<seconds>\] +Nonce lifetime in seconds;.*\(default: 600\)$/m);
    expect(cli.stdout()).toMatch(/^  --allow-loopback-peers +Allow relaying to 127\.0\.0\.0\/8 and ::1 \(tests and labs only; our own ports stay denied\)\.$/m);
    expect(cli.stdout()).toMatch(/^  --lt-cred-mech +Use the long-term credential mechanism .*\.$/m);
  });

  it("shows a placeholder and no value for the secrets", async () => {
    const cli = createFakeCli();
    await runCli(["--help"], cli.deps);
    expect(cli.stdout()).toMatch(/^  --static-auth-secret <secret> +Shared secret for REST credentials.*\(default: none; repeatable\)$/m);
    expect(cli.stdout()).toMatch(/^  --user <name:password> +A long-term user.*\(default: none; repeatable\)$/m);
  });

  it("help COMMAND and COMMAND --help print that command's usage", async () => {
    for (const args of [["help", "start"], ["start", "--help"], ["start", "-h"]]) {
      const cli = createFakeCli();
      expect(await runCli(args, cli.deps)).toBe(0);
      expect(cli.stdout()).toMatch(/^Usage: turnpike start \[-c FILE\]/);
      expect(cli.stdout()).toContain("--min-port <port>");
      expect(cli.started).toEqual([]);
    }
    const cli = createFakeCli();
    expect(await runCli(["check-config", "--help"], cli.deps)).toBe(0);
    expect(cli.stdout()).toMatch(/^Usage: turnpike check-config/);
  });

  it.each([["--version"], ["-V"]])("%s prints the version from package.json", async (flag) => {
    const cli = createFakeCli();
    expect(await runCli([flag], cli.deps)).toBe(0);
    expect(cli.stdout()).toBe(`${packageVersion}\n`);
  });
});

describe("turnpike never prints a secret", () => {
  const SECRETS = ["Zebra-7f3c-rest", "Zebra-7f3c-user", "Zebra-7f3c-flag", "Zebra-7f3c-cli"] as const;

  function secretFile(): string {
    return temp.write(
      "turnserver.conf",
      [
        "use-auth-secret",
        `static-auth-secret=${SECRETS[0]}`,
        `user=alice:${SECRETS[1]}`,
        `user=bob:0x${"0f".repeat(16)}`,
        "realm=a",
        "realm=b",
        `cli-password=${SECRETS[3]}`,
        "max-bps=1000000",
      ].join("\n"),
    );
  }

  function expectNoSecret(text: string): void {
    for (const secret of [...SECRETS, "0f".repeat(16)]) expect(text).not.toContain(secret);
  }

  it("in check-config's warnings and verdict", async () => {
    const cli = createFakeCli();
    expect(await runCli(["check-config", "-c", secretFile(), "--static-auth-secret", SECRETS[2], "--user", `carol:${SECRETS[2]}`, "--no-api"], cli.deps)).toBe(0);
    expect(cli.stdout()).toBe("config OK\n");
    expect(cli.stderr().split("\n").filter((line) => line.startsWith("turnpike: warning: "))).toHaveLength(2);
    expectNoSecret(cli.stdout() + cli.stderr());
  });

  it.each([
    ["a control character in a secret", `static-auth-secret=${SECRETS[0]}\u0001`],
    ["text after a quoted secret", `static-auth-secret="${SECRETS[0]}" ${SECRETS[0]}`],
    ["a secret glued to its key", `static-auth-secret:${SECRETS[0]}`],
    ["a user without a colon", `user=${SECRETS[1]}`],
    ["a 0x key of the wrong length", `user=alice:0x${"0f".repeat(15)}`],
    ["a user given twice", `user=alice:${SECRETS[1]}\nuser=alice:${SECRETS[0]}`],
  ])("in check-config's error for %s", async (_what, line) => {
    const file = temp.write("turnserver.conf", `realm=example.org\n${line}\n`);
    const cli = createFakeCli();
    expect(await runCli(["check-config", "-c", file], cli.deps)).toBe(2);
    expect(cli.stderr()).toMatch(new RegExp(`^turnpike: ${escapeRegExp(file)}:\\d+: `));
    expect(cli.stdout()).toBe("");
    expectNoSecret(cli.stderr());
  });

  it("in start's log", async () => {
    const cli = createFakeCli();
    const exit = runCli(["start", "-c", secretFile(), `--static-auth-secret=${SECRETS[2]}`], cli.deps);
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1), { timeout: 10_000 });
    cli.signal("SIGTERM");
    expect(await exit).toBe(0);
    expect(cli.started[0]?.staticAuthSecrets).toEqual([SECRETS[2]]);
    expect(cli.logs().map((line) => line.msg)).toContain("turnpike started");
    expectNoSecret(JSON.stringify(cli.logs()) + cli.stdout() + cli.stderr());
  });

  it("in help, even when a command is given secrets along with --help", async () => {
    for (const command of ["start", "check-config"]) {
      const cli = createFakeCli();
      expect(await runCli([command, "-c", secretFile(), "--static-auth-secret", SECRETS[2], "--help"], cli.deps)).toBe(0);
      expect(cli.stdout()).toContain("--static-auth-secret <secret>");
      expect(cli.started).toEqual([]);
      expectNoSecret(cli.stdout() + cli.stderr());
    }
  });

  it("when an option with a secret is given without a command", async () => {
    for (const [argv, message] of [
      [[`--static-auth-secret=${SECRETS[2]}`], 'turnpike: missing command before --static-auth-secret=… (as in "turnpike start --static-auth-secret ...")\n'],
      [["--static-auth-secret", SECRETS[2]], 'turnpike: missing command before --static-auth-secret (as in "turnpike start --static-auth-secret ...")\n'],
      [[`--static-auth-secre=${SECRETS[2]}`], 'turnpike: unknown option "--static-auth-secre=…"\n'],
      [[`--verison=${SECRETS[2]}`], 'turnpike: unknown option "--verison=…" (did you mean "--version"?)\n'],
      [[`--static-auth-secret${SECRETS[2]}`], 'turnpike: unknown option "--static-auth-secret…"\n'],
      [[`--static-auth-secret${SECRETS[2]}+/x=`], 'turnpike: unknown option "--static-auth-secret…"\n'],
      [[`-static-auth-secret${SECRETS[2]}`], 'turnpike: unknown option "-static-auth-secret…"\n'],
      [["check-config", `--static-auth-secret${SECRETS[2]}`], 'turnpike: command line: unknown option "--static-auth-secret…" (did you mean "--static-auth-secret"?)\n'],
      [[`static-auth-secret=${SECRETS[2]}`], 'turnpike: missing command before static-auth-secret=… (as in "turnpike start --static-auth-secret=...")\n'],
      [[`strat=${SECRETS[2]}`], 'turnpike: unknown command "strat=…" (did you mean "start"?)\n'],
      // No command and no dashes: an option's name with a value glued on shows as the name alone.
      [[`static-auth-secret${SECRETS[2]}`], 'turnpike: unknown command "static-auth-secret…" (try "turnpike --help")\n'],
      [[`static-auth-secret:${SECRETS[2]}`], 'turnpike: unknown command "static-auth-secret:…" (try "turnpike --help")\n'],
      [["help", `static-auth-secret${SECRETS[2]}+z`], 'turnpike: unknown command "static-auth-secret…" (try "turnpike --help")\n'],
      // A word close to no name, with a character no name has or a single dash: not shown at all.
      [[`${SECRETS[2]}+/z`], `turnpike: unexpected first argument (not shown: it is close to no command or option name and may be a secret); try "turnpike --help"\n`],
      [[`-${SECRETS[2]}`], `turnpike: unexpected first argument (not shown: it is close to no command or option name and may be a secret); try "turnpike --help"\n`],
      [["help", "start", SECRETS[2]], 'turnpike: unexpected argument after "help start": help takes one command name\n'],
    ] as const) {
      const cli = createFakeCli();
      expect(await runCli(argv, cli.deps), argv.join(" ")).toBe(2);
      expect(cli.stderr()).toBe(message);
    }
  });
});

describe("turnpike never echoes a stray argument or a flag's value", () => {
  const SECRET = "Zebra-7f3c-stray";
  it.each([
    ["an option written without its dashes", ["start", `static-auth-secret=${SECRET}`]],
    ["a second value after an option's value", ["start", "--static-auth-secret", "S1", SECRET]],
    ["a value after a flag", ["check-config", "--use-auth-secret", SECRET]],
    ["a value given to a flag", ["check-config", `--use-auth-secret=${SECRET}`]],
    ["a value given to a preset", ["check-config", `--verbose=${SECRET}`]],
  ])("%s", async (_what, argv) => {
    const cli = createFakeCli();
    expect(await runCli(argv, cli.deps)).toBe(2);
    expect(cli.stderr()).toMatch(/^turnpike: command line: /);
    expect(cli.stderr()).not.toContain(SECRET);
  });

  it("in a config file's flag", async () => {
    const file = temp.write("turnserver.conf", `use-auth-secret=${SECRET}\n`);
    const cli = createFakeCli();
    expect(await runCli(["check-config", "-c", file], cli.deps)).toBe(2);
    expect(cli.stderr()).toBe(
      `turnpike: ${file}:1: invalid value for use-auth-secret: a flag is given bare, or with true/false, yes/no, on/off, 1/0; the secret goes in static-auth-secret\n`,
    );
  });
});

describe("turnpike usage errors (exit 2, one line)", () => {
  it.each([
    [[], 'turnpike: missing command (try "turnpike start", or "turnpike --help")\n'],
    [["strat"], 'turnpike: unknown command "strat" (did you mean "start"?)\n'],
    [["check-conf"], 'turnpike: unknown command "check-conf" (did you mean "check-config"?)\n'],
    [["credential"], 'turnpike: unknown command "credential" (did you mean "credentials"?)\n'],
    [["relaod"], 'turnpike: unknown command "relaod" (did you mean "reload"?)\n'],
    [["serve"], 'turnpike: unknown command "serve" (try "turnpike --help")\n'],
    [["--verison"], 'turnpike: unknown option "--verison" (did you mean "--version"?)\n'],
    [["--listening-port", "3478"], 'turnpike: missing command before --listening-port (as in "turnpike start --listening-port ...")\n'],
    [["help", "strat"], 'turnpike: unknown command "strat" (did you mean "start"?)\n'],
  ])("%j", async (argv, message) => {
    const cli = createFakeCli();
    expect(await runCli(argv, cli.deps)).toBe(2);
    expect(cli.stderr()).toBe(message);
    expect(cli.stdout()).toBe("");
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
