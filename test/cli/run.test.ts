import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { DEFAULT_CONFIG } from "../../src/config/config.js";
import { OPTIONS } from "../../src/config/options.js";
import { useTempDir } from "../config/temp-dir.js";
import { createFakeCli, FAKE_LISTENERS } from "./fake-deps.js";

const temp = useTempDir();
const packageVersion = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Stands in for the server's StartupError: an operator-facing one-line failure at start. */
class StartupError extends Error {
  override name = "StartupError";
}

describe("turnpike start", () => {
  it("starts with the defaults when given no file and no flags, logs the listeners, and exits 0 on SIGTERM", async () => {
    const cli = createFakeCli();
    const exit = runCli(["start"], cli.deps);
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1));
    expect(cli.started).toEqual([DEFAULT_CONFIG]);
    const started = cli.logs().find((line) => line.msg === "turnpike started");
    expect(started).toMatchObject({ level: 30, listeners: FAKE_LISTENERS, version: packageVersion });

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
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1));
    cli.signal("SIGINT");
    expect(await exit).toBe(0);
    expect(cli.logs().find((line) => line.msg === "turnpike stopping")).toMatchObject({ signal: "SIGINT" });
  });

  it("loads -c FILE with flags winning over it, and logs its warnings", async () => {
    const file = temp.write("turnserver.conf", "listening-port=3479\nrealm=file.example\nlt-cred-mech\n");
    const cli = createFakeCli();
    const exit = runCli(["start", "-c", file, "--realm", "cli.example", "--fingerprint"], cli.deps);
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1));
    expect(cli.started[0]).toMatchObject({ listeningPort: 3479, realm: "cli.example", fingerprint: true });
    expect(cli.logs().filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
      expect.stringMatching(/^ignoring coturn options turnpike does not implement yet: lt-cred-mech/),
    ]);
    cli.signal("SIGTERM");
    expect(await exit).toBe(0);
  });

  it("accepts --config=FILE", async () => {
    const cli = createFakeCli();
    const exit = runCli(["start", `--config=${temp.write("t.conf", "min-port=50000")}`], cli.deps);
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1));
    expect(cli.started[0]?.minPort).toBe(50000);
    cli.signal("SIGTERM");
    await exit;
  });

  it("keeps a value that looks like -c with the option it belongs to", async () => {
    const cli = createFakeCli();
    const exit = runCli(["start", "--software", "-c"], cli.deps);
    await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1));
    expect(cli.started[0]?.software).toBe("-c");
    cli.signal("SIGTERM");
    await exit;
  });

  it("prints a StartupError as one line and exits 1", async () => {
    const cli = createFakeCli(async () => {
      throw new StartupError("cannot listen on udp 0.0.0.0:3478: address in use");
    });
    expect(await runCli(["start"], cli.deps)).toBe(1);
    expect(cli.stderr()).toBe("turnpike: cannot listen on udp 0.0.0.0:3478: address in use\n");
    expect(cli.signalHandlers()).toBe(0);
  });

  it("prints any other error's message and exits 1", async () => {
    const cli = createFakeCli(async () => {
      throw new TypeError("something broke");
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
      [["stray"], 'turnpike: command line: unexpected argument "stray"\n'],
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
    expect(await runCli(["check-config", "-c", temp.write("t.conf", "realm=example.org\n"), "--no-tcp"], cli.deps)).toBe(0);
    expect(cli.stdout()).toBe("config OK\n");
    expect(cli.stderr()).toBe("");
    expect(cli.started).toEqual([]);
  });

  it("prints the warnings before OK", async () => {
    const cli = createFakeCli();
    expect(await runCli(["check-config", "-c", temp.write("t.conf", "syslog\n")], cli.deps)).toBe(0);
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
});

describe("turnpike help and version", () => {
  it.each([["--help"], ["-h"], ["help"]])("%s prints usage, the commands and every option with its doc", async (flag) => {
    const cli = createFakeCli();
    expect(await runCli([flag], cli.deps)).toBe(0);
    const help = cli.stdout();
    expect(help).toMatch(/^Usage: turnpike <command> \[options\]/);
    for (const command of ["start", "check-config", "help [command]"]) expect(help).toContain(`  ${command} `);
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

describe("turnpike usage errors (exit 2, one line)", () => {
  it.each([
    [[], 'turnpike: missing command (try "turnpike start", or "turnpike --help")\n'],
    [["strat"], 'turnpike: unknown command "strat" (did you mean "start"?)\n'],
    [["check-conf"], 'turnpike: unknown command "check-conf" (did you mean "check-config"?)\n'],
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
