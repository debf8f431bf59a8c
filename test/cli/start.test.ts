// `turnpike start`: generated credentials from the state file, the pidfile, and SIGHUP reloads.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { runCli, type CliServer } from "../../src/cli/run.js";
import { DEFAULT_CONFIG } from "../../src/config/config.js";
import type { TurnpikeState } from "../../src/server/state-file.js";
import { useTempDir } from "../config/temp-dir.js";
import { createFakeCli, FAKE_LISTENERS, FAKE_PID, type FakeCli, type FakeCliOptions } from "./fake-deps.js";
import { until } from "../helpers/until.js";

const temp = useTempDir();

const defaultStateFile = (cli: FakeCli): string => join(cli.stateHome, "turnpike", "state.json");
const readState = (path: string): TurnpikeState => JSON.parse(readFileSync(path, "utf8")) as TurnpikeState;

/** Runs `turnpike start ...` until it is up (its SIGINT/SIGTERM handler registered); `stop()` sends SIGTERM and resolves to the exit code. */
async function startRunning(args: readonly string[], options: FakeCliOptions = {}) {
  const cli = createFakeCli(options);
  const exit = runCli(["start", ...args], cli.deps);
  await vi.waitFor(() => expect(cli.signalHandlers()).toBe(1), { timeout: 10_000 });
  // The pidfile is written after the handlers are in place, and "turnpike started" after it.
  await vi.waitFor(() => expect(cli.logs().some((line) => line.msg === "turnpike started")).toBe(true), { timeout: 10_000 });
  return {
    cli,
    exit,
    async stop(): Promise<number> {
      cli.signal("SIGTERM");
      return exit;
    },
  };
}

/** The "Get a credential:" command of the note start prints, run by bash with `curl` replaced by a function printing its arguments. */
function runPrintedCurl(stdout: string): string[] {
  const line = stdout.split("\n").find((text) => text.trimStart().startsWith("Get a credential:"));
  if (line === undefined) throw new Error(`no curl command in: ${stdout}`);
  const command = line.replace(/^\s*Get a credential:\s*/, "");
  const script = `curl() { printf '%s\\n' "$@"; }\n${command}`;
  const path = `${dirname(process.execPath)}:${process.env["PATH"] ?? ""}`;
  return execFileSync("bash", ["-c", script], { env: { PATH: path }, encoding: "utf8" }).trimEnd().split("\n");
}

describe("turnpike start without a config file or credentials: generated credentials", () => {
  it("creates the state file, starts with its secret and key, and prints where it is and how to fetch a credential", async () => {
    const { cli, stop } = await startRunning([], { api: { address: "127.0.0.1", port: 18080, tls: false } });
    const stateFile = defaultStateFile(cli);
    const state = readState(stateFile);
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(stateFile)).mode & 0o777).toBe(0o700);
    expect(cli.started).toEqual([
      {
        ...DEFAULT_CONFIG,
        useAuthSecret: true,
        staticAuthSecrets: [state.staticAuthSecret],
        apiKeys: [state.apiKey],
        pidfile: join(dirname(stateFile), "turnpike.pid"),
      },
    ]);
    expect(cli.stdout()).toContain("turnpike: no config file and no credentials given: generated a REST secret and an API key.\n");
    expect(cli.stdout()).toContain(`  State file:       ${stateFile} (keep it private)\n`);
    expect(cli.stdout()).toContain("  Or offline:       turnpike credentials --user alice\n");
    expect(await stop()).toBe(0);
  });

  it("prints a curl command that sends the key from the state file without containing it", async () => {
    const { cli, stop } = await startRunning([], { api: { address: "127.0.0.1", port: 18080, tls: false } });
    const state = readState(defaultStateFile(cli));
    expect(runPrintedCurl(cli.stdout())).toEqual(["-s", "-H", `Authorization: Bearer ${state.apiKey}`, "http://127.0.0.1:18080/api/v1/credentials?username=alice"]);
    await stop();
  });

  it.each([
    [{ address: "0.0.0.0", port: 8080, tls: false }, "http://127.0.0.1:8080/api/v1/credentials?username=alice"],
    [{ address: "::", port: 8080, tls: false }, "http://[::1]:8080/api/v1/credentials?username=alice"],
    [{ address: "::1", port: 9443, tls: true }, "https://[::1]:9443/api/v1/credentials?username=alice"],
  ] as const)("addresses the endpoint the server reports (%j) as this machine reaches it", async (api, url) => {
    const { cli, stop } = await startRunning([], { api });
    expect(runPrintedCurl(cli.stdout()).at(-1)).toBe(url);
    await stop();
  });

  it("falls back to the configured endpoint address when the server reports none", async () => {
    const { cli, stop } = await startRunning(["--api-listening-ip", "::1", "--api-listening-port", "9000"]);
    expect(runPrintedCurl(cli.stdout()).at(-1)).toBe("http://[::1]:9000/api/v1/credentials?username=alice");
    await stop();
  });

  it("says the endpoint is off with no-api, and prints no curl command", async () => {
    const { cli, stop } = await startRunning(["--no-api"]);
    expect(cli.stdout()).toContain("  Credential API: off (no-api)\n");
    expect(cli.stdout()).not.toContain("curl");
    expect(cli.started[0]).toMatchObject({ noApi: true, useAuthSecret: true });
    await stop();
  });

  it("never prints or logs the generated secret or key", async () => {
    const { cli, stop } = await startRunning([], { api: { address: "127.0.0.1", port: 18080, tls: false } });
    await stop();
    const state = readState(defaultStateFile(cli));
    const everything = cli.stdout() + cli.stderr() + JSON.stringify(cli.logs());
    expect(everything).not.toContain(state.staticAuthSecret);
    expect(everything).not.toContain(state.apiKey);
  });

  it("reuses the state file on the next start, and says so", async () => {
    const first = await startRunning([]);
    await first.stop();
    const before = readFileSync(defaultStateFile(first.cli), "utf8");
    const second = createFakeCli({ env: { XDG_STATE_HOME: first.cli.stateHome } });
    const exit = runCli(["start"], second.deps);
    await vi.waitFor(() => expect(second.stdout()).toContain("using the REST secret and API key generated earlier"), { timeout: 10_000 });
    second.signal("SIGTERM");
    expect(await exit).toBe(0);
    expect(readFileSync(defaultStateFile(first.cli), "utf8")).toBe(before);
    expect(second.started[0]?.staticAuthSecrets).toEqual(first.cli.started[0]?.staticAuthSecrets);
    expect(second.started[0]?.apiKeys).toEqual(first.cli.started[0]?.apiKeys);
  });

  it("uses ~/.local/state/turnpike/state.json without XDG_STATE_HOME", async () => {
    const { cli, stop } = await startRunning([], { env: {} });
    expect(existsSync(join(cli.stateHome, "home", ".local", "state", "turnpike", "state.json"))).toBe(true);
    await stop();
  });

  it("keeps the state file and the pidfile where state-file says, and names it in the printed commands", async () => {
    const stateFile = join(temp.path(), "it's here", "state.json");
    const { cli, stop } = await startRunning(["--state-file", stateFile]);
    expect(cli.started[0]).toMatchObject({ stateFile, pidfile: join(dirname(stateFile), "turnpike.pid") });
    expect(readFileSync(join(dirname(stateFile), "turnpike.pid"), "utf8")).toBe(`${FAKE_PID}\n`);
    expect(cli.stdout()).toContain(`turnpike credentials --state-file '${join(temp.path(), "it'\\''s here", "state.json")}' --user alice`);
    expect(runPrintedCurl(cli.stdout())[2]).toBe(`Authorization: Bearer ${readState(stateFile).apiKey}`);
    expect(existsSync(defaultStateFile(cli))).toBe(false);
    await stop();
  });

  it("repeats in the offline command the flags that shape its answer, so that it hands out what the server serves", async () => {
    const stateFile = join(temp.path(), "it's here", "state.json");
    // Given relative to the working directory; printed as start resolved it, for use from anywhere.
    const args = ["--listening-port", "40478", "--min-port", "50000", "--rest-uri-host=turn.example.com", "--no-tcp", "--state-file", relative(process.cwd(), stateFile), "--rest-default-ttl", "600"];
    const { cli, stop } = await startRunning(args);
    const line = cli.stdout().split("\n").find((text) => text.trimStart().startsWith("Or offline:"));
    const command = line?.replace(/^\s*Or offline:\s*/, "") ?? "";
    expect(command).toBe(
      `turnpike credentials --listening-port 40478 --rest-uri-host turn.example.com --no-tcp --state-file '${join(temp.path(), "it'\\''s here", "state.json")}' --rest-default-ttl 600 --user alice`,
    );
    // The command as a shell splits it, run: the same host, ports, transports and TTL as the running server's.
    const argv = execFileSync("bash", ["-c", `turnpike() { printf '%s\\n' "$@"; }\n${command}`], { encoding: "utf8" }).trimEnd().split("\n");
    const offline = createFakeCli({ env: cli.deps.env ?? {} });
    expect(await runCli(argv, offline.deps)).toBe(0);
    const answer = JSON.parse(offline.stdout()) as { username: string; ttl: number; uris: string[] };
    expect(answer.uris).toEqual(["stun:turn.example.com:40478", "turn:turn.example.com:40478?transport=udp"]);
    expect(answer.ttl).toBe(600);
    expect(answer.username).toMatch(/^\d+:alice$/);
    await stop();
  });

  it("writes a configured pidfile instead of the one next to the state file", async () => {
    const pidfile = join(temp.path(), "custom.pid");
    const { cli, stop } = await startRunning(["--pidfile", pidfile]);
    expect(readFileSync(pidfile, "utf8")).toBe(`${FAKE_PID}\n`);
    expect(existsSync(join(cli.stateHome, "turnpike", "turnpike.pid"))).toBe(false);
    await stop();
    expect(existsSync(pidfile)).toBe(false);
  });

  it("takes use-auth-secret alone as no credentials, and drops the warning the generated secret answers", async () => {
    const { cli, stop } = await startRunning(["--use-auth-secret"]);
    expect(cli.started[0]?.staticAuthSecrets).toHaveLength(1);
    expect(cli.logs().filter((line) => line.level === 40)).toEqual([]);
    await stop();
  });

  it("replaces a static-auth-secret given with use-auth-secret=false, and says so without the secret", async () => {
    const { cli, stop } = await startRunning(["--static-auth-secret", "Zebra-own-secret", "--use-auth-secret=false"]);
    const state = readState(defaultStateFile(cli));
    expect(cli.started[0]).toMatchObject({ useAuthSecret: true, staticAuthSecrets: [state.staticAuthSecret] });
    expect(cli.logs().filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
      `static-auth-secret with use-auth-secret=false is replaced by the secret generated in ${defaultStateFile(cli)}; drop use-auth-secret=false to use your own`,
    ]);
    await stop();
    expect(cli.stdout() + JSON.stringify(cli.logs())).not.toContain("Zebra-own-secret");
  });

  it.each([
    ["a static user", ["--user", "alice:north"]],
    ["a REST secret", ["--use-auth-secret", "--static-auth-secret", "north"]],
    ["a REST secret alone (use-auth-secret implied, as in coturn)", ["--static-auth-secret", "north"]],
    ["an api-key", ["--api-key", "north-key"]],
  ])("does not generate anything when %s is given", async (_what, args) => {
    const { cli, stop } = await startRunning(args);
    expect(existsSync(join(cli.stateHome, "turnpike"))).toBe(false);
    expect(cli.stdout()).toBe("");
    expect(cli.started[0]?.pidfile).toBeUndefined();
    await stop();
  });

  it("does not generate anything with a config file, even one without credentials", async () => {
    const { cli, stop } = await startRunning(["-c", temp.write("turnserver.conf", "realm=example.org\n")]);
    expect(existsSync(join(cli.stateHome, "turnpike"))).toBe(false);
    expect(cli.started[0]).toEqual({ ...DEFAULT_CONFIG, realm: "example.org" });
    expect(cli.stdout()).toBe("");
    await stop();
  });

  it.each([
    ["damaged", "{ not json", 0o600, /is damaged \(not valid JSON\); restore it, or move it away to have new credentials generated\n$/],
    ["readable by others", JSON.stringify({ version: 1, staticAuthSecret: "s", apiKey: "k", createdAt: "x" }), 0o644, /is accessible to group or others \(mode 644\); it holds secrets: chmod 600 /],
  ])("refuses to start with a %s state file, exit 1, leaving it as it is", async (_what, content, mode, message) => {
    const cli = createFakeCli();
    const stateFile = defaultStateFile(cli);
    mkdirSync(dirname(stateFile), { recursive: true });
    writeFileSync(stateFile, content);
    chmodSync(stateFile, mode);
    expect(await runCli(["start"], cli.deps)).toBe(1);
    expect(cli.stderr()).toMatch(new RegExp(`^turnpike: state file ${stateFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} `));
    expect(cli.stderr()).toMatch(message);
    expect(cli.started).toEqual([]);
    expect(readFileSync(stateFile, "utf8")).toBe(content);
  });
});

describe("turnpike start: the pidfile", () => {
  it("writes the process id when pidfile is configured, and removes it on exit", async () => {
    const pidfile = join(temp.path(), "turnpike.pid");
    const file = temp.write("turnserver.conf", `pidfile=${pidfile}\n`);
    const { cli, stop } = await startRunning(["-c", file]);
    expect(readFileSync(pidfile, "utf8")).toBe(`${FAKE_PID}\n`);
    expect(cli.logs().find((line) => line.msg === "turnpike started")).toMatchObject({ pidfile });
    expect(await stop()).toBe(0);
    expect(existsSync(pidfile)).toBe(false);
  });

  it("leaves a pidfile that another process has rewritten since", async () => {
    const pidfile = join(temp.path(), "turnpike.pid");
    const { stop } = await startRunning(["--user", "alice:north", "--pidfile", pidfile]);
    writeFileSync(pidfile, "777\n");
    await stop();
    expect(readFileSync(pidfile, "utf8")).toBe("777\n");
  });

  it("refuses a pidfile that is a directory before starting anything, with exit code 2", async () => {
    const pidfile = join(temp.path(), "occupied");
    mkdirSync(pidfile);
    const cli = createFakeCli();
    expect(await runCli(["start", "--user", "alice:north", "--pidfile", pidfile], cli.deps)).toBe(2);
    expect(cli.stderr()).toBe(`turnpike: command line: cannot write pidfile ${pidfile}: it is a directory\n`);
    expect(cli.started).toHaveLength(0);
  });

  it("exits 1, closing the server, when the pidfile cannot be written after the configuration passed", async () => {
    const pidfile = join(temp.path(), "occupied");
    let closed = 0;
    const cli = createFakeCli({
      // The path turns into a directory (with something in it) between the check and the write.
      start: async () => {
        mkdirSync(join(pidfile, "child"), { recursive: true });
        return { listeners: FAKE_LISTENERS, reload: async () => {}, close: async () => void closed++ };
      },
    });
    expect(await runCli(["start", "--user", "alice:north", "--pidfile", pidfile], cli.deps)).toBe(1);
    expect(cli.stderr()).toMatch(new RegExp(`^turnpike: cannot write pidfile ${pidfile}: `));
    expect(closed).toBe(1);
    expect(cli.signalHandlers()).toBe(0);
    expect(cli.reloadHandlers()).toBe(0);
  });
});

describe("turnpike start: SIGHUP reloads the configuration", () => {
  it("loads the same file and flags again and hands the result to the server", async () => {
    const file = temp.write("turnserver.conf", "realm=before.example\nuser-quota=3\n");
    const { cli, stop } = await startRunning(["-c", file, "--user-quota", "5"]);
    writeFileSync(file, "realm=after.example\nuser-quota=3\ntotal-quota=77\n");
    cli.hangUp();
    await vi.waitFor(() => expect(cli.reloaded).toHaveLength(1), { timeout: 10_000 });
    expect(cli.reloaded[0]).toEqual({ ...DEFAULT_CONFIG, realm: "after.example", userQuota: 5, totalQuota: 77 });
    await vi.waitFor(() => expect(cli.logs().map((line) => line.msg)).toContain("reload applied"), { timeout: 10_000 });
    expect(await stop()).toBe(0);
    expect(cli.reloadHandlers()).toBe(0);
  });

  it("logs a configuration error with its line, keeps running on the old configuration, and takes the next good one", async () => {
    const file = temp.write("turnserver.conf", "realm=before.example\n");
    const { cli, stop } = await startRunning(["-c", file]);
    writeFileSync(file, "realm=after.example\nmin-port=60000\nmax-port=50000\n");
    cli.hangUp();
    await vi.waitFor(() => expect(cli.logs().some((line) => line.msg === "reload refused; the running configuration stays")).toBe(true), { timeout: 10_000 });
    expect(cli.logs().find((line) => line.level === 50)).toMatchObject({ reason: `${file}:3: max-port 50000 is below min-port 60000` });
    expect(cli.reloaded).toEqual([]);
    expect(cli.closed()).toBe(0);
    writeFileSync(file, "realm=fixed.example\n");
    cli.hangUp();
    await vi.waitFor(() => expect(cli.reloaded.map((config) => config.realm)).toEqual(["fixed.example"]), { timeout: 10_000 });
    expect(await stop()).toBe(0);
  });

  it("logs a reload the server refuses and keeps running", async () => {
    const { cli, stop } = await startRunning(["--user", "alice:north"], {
      reload: async () => {
        throw new Error("listening-port cannot change on reload");
      },
    });
    cli.hangUp();
    await vi.waitFor(() =>
      expect(cli.logs().find((line) => line.msg === "reload failed; the running configuration stays")).toMatchObject({
        level: 50,
        reason: "listening-port cannot change on reload",
      }),
      { timeout: 10_000 },
    );
    expect(cli.closed()).toBe(0);
    expect(await stop()).toBe(0);
  });

  it("keeps the generated credentials across a reload", async () => {
    const { cli, stop } = await startRunning(["--realm", "a.example"]);
    cli.hangUp();
    await vi.waitFor(() => expect(cli.reloaded).toHaveLength(1), { timeout: 10_000 });
    expect(cli.reloaded[0]).toEqual(cli.started[0]);
    await stop();
  });

  it("refuses a reload whose state file is gone, rather than generating new credentials, and takes it once it is back", async () => {
    const { cli, stop } = await startRunning(["--realm", "a.example"]);
    const stateFile = defaultStateFile(cli);
    renameSync(stateFile, `${stateFile}.moved`);
    cli.hangUp();
    await vi.waitFor(() =>
      expect(cli.logs().find((line) => line.msg === "reload refused; the running configuration stays")).toMatchObject({
        level: 50,
        reason: expect.stringContaining(`state file ${stateFile} is gone`) as unknown,
      }),
      { timeout: 10_000 },
    );
    expect(existsSync(stateFile)).toBe(false);
    expect(cli.reloaded).toEqual([]);

    renameSync(`${stateFile}.moved`, stateFile);
    cli.hangUp();
    await vi.waitFor(() => expect(cli.reloaded).toHaveLength(1), { timeout: 10_000 });
    expect(cli.reloaded[0]).toEqual(cli.started[0]);
    expect(await stop()).toBe(0);
  });

  it("refuses a reload whose state file cannot be used, and keeps running", async () => {
    const { cli, stop } = await startRunning([]);
    chmodSync(defaultStateFile(cli), 0o644);
    cli.hangUp();
    await vi.waitFor(() =>
      expect(cli.logs().find((line) => line.msg === "reload refused; the running configuration stays")).toMatchObject({
        reason: expect.stringContaining("is accessible to group or others") as unknown,
      }),
      { timeout: 10_000 },
    );
    expect(cli.reloaded).toEqual([]);
    expect(cli.closed()).toBe(0);
    expect(await stop()).toBe(0);
  });

  it("applies one reload at a time, in order, and finishes it before closing", async () => {
    const pending: (() => void)[] = [];
    const { cli, exit } = await startRunning(["--user", "alice:north"], {
      reload: () => new Promise<void>((resolve) => pending.push(resolve)),
    });
    cli.hangUp();
    cli.hangUp();
    await vi.waitFor(() => expect(pending).toHaveLength(1), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cli.reloaded).toHaveLength(1);
    pending[0]?.();
    await vi.waitFor(() => expect(pending).toHaveLength(2), { timeout: 10_000 });
    cli.signal("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cli.closed()).toBe(0);
    pending[1]?.();
    expect(await exit).toBe(0);
    expect(cli.closed()).toBe(1);
    expect(cli.reloaded).toHaveLength(2);
  });
});

describe("the server contract start consumes", () => {
  it("needs only listeners, an optional api, reload and close", async () => {
    const minimal: CliServer = { listeners: [], reload: async () => {}, close: async () => {} };
    const { cli, stop } = await startRunning(["--user", "alice:north"], { start: async () => minimal });
    expect(cli.logs().find((line) => line.msg === "turnpike started")).toMatchObject({ listeners: [] });
    expect(await stop()).toBe(0);
  });
});

describe("turnpike start: a server that can no longer serve", () => {
  it("stops with exit code 1, closing the server and logging why, when the server reports it failed", async () => {
    let fail: (reason: string) => void = () => {};
    const failed = new Promise<string>((resolve) => (fail = resolve));
    let closed = 0;
    const server: CliServer = { listeners: [], reload: async () => {}, close: async () => void closed++, failed };
    const cli = createFakeCli({ start: async () => server });
    const exit = runCli(["start", "--user", "alice:north"], cli.deps);
    expect(await until(() => cli.logs().some((line) => line.msg === "turnpike started"), 2000)).toBe(true);
    expect(closed).toBe(0);
    fail("every relay thread kept failing");
    expect(await exit).toBe(1);
    expect(closed).toBe(1);
    expect(cli.logs().find((line) => line.msg === "turnpike stopping: it can no longer serve")).toMatchObject({ level: 50, reason: "every relay thread kept failing" });
    expect(cli.signalHandlers()).toBe(0);
  });
});
