// `turnpike reload`: find the running turnpike through its pidfile and send it SIGHUP.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { loadStartConfig } from "../../src/cli/start-config.js";
import { useTempDir } from "../config/temp-dir.js";
import { createFakeCli, FAKE_PID } from "./fake-deps.js";

const temp = useTempDir();

const errnoError = (code: string): Error => Object.assign(new Error(`kill ${code}`), { code });

describe("turnpike reload", () => {
  it("sends SIGHUP to the process in the configured pidfile", async () => {
    const pidfile = temp.write("turnpike.pid", "31337\n");
    const cli = createFakeCli();
    expect(await runCli(["reload", "-c", temp.write("turnserver.conf", `pidfile=${pidfile}\n`)], cli.deps)).toBe(0);
    expect(cli.killed).toEqual([[31337, "SIGHUP"]]);
    expect(cli.stdout()).toBe(`turnpike: sent SIGHUP to process 31337 (from ${pidfile}); the server logs whether the reload took\n`);
    expect(cli.stderr()).toBe("");
  });

  it("takes --pidfile", async () => {
    const pidfile = temp.write("other.pid", "4242");
    const cli = createFakeCli();
    expect(await runCli(["reload", "--pidfile", pidfile], cli.deps)).toBe(0);
    expect(cli.killed).toEqual([[4242, "SIGHUP"]]);
  });

  it("without a config file, finds the pidfile start writes next to the state file", async () => {
    const cli = createFakeCli();
    mkdirSync(join(cli.stateHome, "turnpike"));
    writeFileSync(join(cli.stateHome, "turnpike", "turnpike.pid"), "555\n");
    expect(await runCli(["reload"], cli.deps)).toBe(0);
    expect(cli.killed).toEqual([[555, "SIGHUP"]]);
  });

  it("without a config file, follows --state-file to its pidfile", async () => {
    writeFileSync(join(temp.path(), "turnpike.pid"), "556\n");
    const cli = createFakeCli();
    expect(await runCli(["reload", "--state-file", join(temp.path(), "state.json")], cli.deps)).toBe(0);
    expect(cli.killed).toEqual([[556, "SIGHUP"]]);
  });

  it("reaches the pid a running start wrote, and that start reloads", async () => {
    const server = createFakeCli();
    const exit = runCli(["start", "--realm", "a.example"], server.deps);
    await vi.waitFor(() => expect(server.logs().some((line) => line.msg === "turnpike started")).toBe(true), { timeout: 10_000 });
    const operator = createFakeCli({
      env: { XDG_STATE_HOME: server.stateHome },
      kill: (pid, signal) => {
        expect([pid, signal]).toEqual([FAKE_PID, "SIGHUP"]);
        server.hangUp();
      },
    });
    expect(await runCli(["reload", "--realm", "a.example"], operator.deps)).toBe(0);
    await vi.waitFor(() => expect(server.reloaded).toHaveLength(1), { timeout: 10_000 });
    server.signal("SIGTERM");
    expect(await exit).toBe(0);
  });

  it.each([
    ["turnpike on PATH", ["node", "/usr/local/bin/turnpike", "start", "-c", "/etc/turnserver.conf"], 0],
    ["npm start", ["node", "dist/cli/main.js", "start"], 0],
    ["another program that took the process id", ["sleep", "60"], 1],
    ["node running something else", ["node", "/srv/app/server.js"], 1],
    ["turnpike under node options", ["/opt/node/bin/node", "--max-old-space-size=512", "--enable-source-maps", "dist/cli/main.js", "start"], 0],
    ["turnpike after an option with its value", ["node", "--import", "./tracing.mjs", "/usr/local/bin/turnpike", "start"], 0],
    ["turnpike after --disable-warning and its value", ["node", "--disable-warning", "ExperimentalWarning", "dist/cli/main.js", "start"], 0],
    ["turnpike by its process title", ["turnpike"], 0],
    ["node running something else with a turnpike argument", ["node", "/srv/app/server.js", "--data", "/var/lib/turnpike"], 1],
    ["another program given turnpike's script", ["vim", "dist/cli/main.js"], 1],
  ] as const)("signals %s only if it is turnpike", async (_what, commandLine, code) => {
    writeFileSync(join(temp.path(), "turnpike.pid"), "777\n");
    const cli = createFakeCli({ commandLineOf: (pid) => (pid === 777 ? commandLine : undefined) });
    expect(await runCli(["reload", "--state-file", join(temp.path(), "state.json")], cli.deps)).toBe(code);
    if (code === 0) {
      expect(cli.killed).toEqual([[777, "SIGHUP"]]);
    } else {
      expect(cli.killed).toEqual([]);
      const program = commandLine[0].slice(commandLine[0].lastIndexOf("/") + 1);
      expect(cli.stderr()).toContain(`process 777 from pidfile ${join(temp.path(), "turnpike.pid")} is not turnpike (it runs ${program}); a stale pidfile? Nothing was signalled`);
      // Another process's arguments may hold a secret: none is repeated.
      for (const arg of commandLine.slice(1)) if (arg.length > 3) expect(cli.stderr()).not.toContain(arg);
    }
  });

  it("exits 1 when no pidfile is configured with a config file", async () => {
    const file = temp.write("turnserver.conf", "realm=example.org\n");
    const cli = createFakeCli();
    expect(await runCli(["reload", "-c", file], cli.deps)).toBe(1);
    expect(cli.stderr()).toBe(`turnpike: no pidfile to find turnpike by: set pidfile in ${file} (turnpike start writes it), or give --pidfile\n`);
    expect(cli.killed).toEqual([]);
  });

  it("exits 1 when the pidfile is missing", async () => {
    const cli = createFakeCli();
    const pidfile = join(cli.stateHome, "turnpike", "turnpike.pid");
    expect(await runCli(["reload"], cli.deps)).toBe(1);
    expect(cli.stderr()).toBe(`turnpike: cannot read pidfile ${pidfile}: no such file or directory (is turnpike running?)\n`);
  });

  it.each(["", "abc", "12 13", "-1", "0", "99999999999", "1.5"])("exits 1 when the pidfile holds %j", async (content) => {
    const pidfile = temp.write("turnpike.pid", content);
    const cli = createFakeCli();
    expect(await runCli(["reload", "--pidfile", pidfile], cli.deps)).toBe(1);
    expect(cli.stderr()).toBe(`turnpike: pidfile ${pidfile} holds no process id\n`);
    expect(cli.killed).toEqual([]);
  });

  it("exits 1 when the process is gone, or may not be signalled", async () => {
    const pidfile = temp.write("turnpike.pid", "31337\n");
    const gone = createFakeCli({
      kill: () => {
        throw errnoError("ESRCH");
      },
    });
    expect(await runCli(["reload", "--pidfile", pidfile], gone.deps)).toBe(1);
    expect(gone.stderr()).toBe(`turnpike: turnpike is not running: no process 31337, as pidfile ${pidfile} says (a stale pidfile?)\n`);
    const foreign = createFakeCli({
      kill: () => {
        throw errnoError("EPERM");
      },
    });
    expect(await runCli(["reload", "--pidfile", pidfile], foreign.deps)).toBe(1);
    expect(foreign.stderr()).toBe(`turnpike: not permitted to signal process 31337 from pidfile ${pidfile}: run reload as the user turnpike runs as\n`);
  });

  it("exits 2 and signals nothing when the configuration is invalid", async () => {
    const pidfile = temp.write("turnpike.pid", "31337\n");
    const file = temp.write("turnserver.conf", `pidfile=${pidfile}\nmin-port=60000\nmax-port=50000\n`);
    const cli = createFakeCli();
    expect(await runCli(["reload", "-c", file], cli.deps)).toBe(2);
    expect(cli.stderr()).toBe(`turnpike: ${file}:3: max-port 50000 is below min-port 60000\n`);
    expect(cli.killed).toEqual([]);
  });

  it("prints its help", async () => {
    const cli = createFakeCli();
    expect(await runCli(["reload", "--help"], cli.deps)).toBe(0);
    expect(cli.stdout()).toMatch(/^Usage: turnpike reload \[-c FILE\] \[--pidfile FILE\]/);
  });
});

describe("turnpike reload with real signals", () => {
  /** A node process that prints "ready", then "hup" on SIGHUP and exits. */
  function spawnListener() {
    const child = spawn(process.execPath, ["-e", 'process.on("SIGHUP", () => { console.log("hup"); process.exit(0); }); console.log("ready"); setInterval(() => {}, 1000);'], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const killTimer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    void exited.finally(() => clearTimeout(killTimer));
    return { child, exited, output: () => output };
  }

  it("delivers SIGHUP to the process in the pidfile", async () => {
    const listener = spawnListener();
    await vi.waitFor(() => expect(listener.output()).toContain("ready"), { timeout: 10_000 });
    const pidfile = temp.write("turnpike.pid", `${listener.child.pid}\n`);
    const cli = createFakeCli();
    expect(await runCli(["reload", "--pidfile", pidfile], { ...cli.deps, kill: undefined })).toBe(0);
    expect(await listener.exited).toBe(0);
    expect(listener.output()).toBe("ready\nhup\n");
  });

  it("exits 1 when that process has exited", async () => {
    const listener = spawnListener();
    await vi.waitFor(() => expect(listener.output()).toContain("ready"), { timeout: 10_000 });
    listener.child.kill("SIGKILL");
    await listener.exited;
    const pidfile = temp.write("turnpike.pid", `${listener.child.pid}\n`);
    const cli = createFakeCli();
    expect(await runCli(["reload", "--pidfile", pidfile], { ...cli.deps, kill: undefined })).toBe(1);
    expect(cli.stderr()).toMatch(/^turnpike: turnpike is not running: no process \d+, as pidfile .* says \(a stale pidfile\?\)\n$/);
  });
});

describe("a reload's configuration leaves log-file and pidfile alone (kept until a restart)", () => {
  it("is read for the server's own reload on generated credentials though log-file became a directory", async () => {
    const cli = createFakeCli();
    const logFile = join(temp.path(), "turnpike.log");
    const flags = ["--realm", "a.example", "--log-file", logFile];
    const started = await loadStartConfig(undefined, flags, cli.deps);
    // logrotate moved the file, and something else took the name.
    mkdirSync(logFile);
    await expect(loadStartConfig(undefined, flags, cli.deps)).rejects.toThrow(/cannot write log-file .*: it is a directory/);
    expect((await loadStartConfig(undefined, flags, cli.deps, "reload")).config).toEqual(started.config);
  });

  it("turnpike reload signals though log-file is a directory now", async () => {
    const pidfile = temp.write("turnpike.pid", "31337\n");
    mkdirSync(join(temp.path(), "taken.log"));
    const cli = createFakeCli();
    const file = temp.write("turnserver.conf", `pidfile=${pidfile}\nlog-file=${join(temp.path(), "taken.log")}\n`);
    expect(await runCli(["reload", "-c", file], cli.deps)).toBe(0);
    expect(cli.killed).toEqual([[31337, "SIGHUP"]]);
    expect(await runCli(["drain", "-c", file], cli.deps)).toBe(0);
    expect(cli.killed).toEqual([[31337, "SIGHUP"], [31337, "SIGUSR1"]]);
  });
});
