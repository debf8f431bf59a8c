import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { mintRestCredential } from "../../src/credentials/rest-credentials.js";
import { getAttribute } from "../../src/stun/attributes/registry.js";
import { Method, MessageClass } from "../../src/stun/constants.js";
import { freePort, runBounded } from "../helpers/processes.js";
import { errorCode } from "../helpers/turn-messages.js";
import { SocketTurnClient, startEchoPeer } from "../helpers/turn-socket-client.js";

// The built binary as an operator runs it, each test with its own state directory.
const BIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "turnpike-ops-"));
  dirs.push(dir);
  return dir;
}

// Servers a test started: whatever a failing test left running is killed after it.
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function startBinary(args: readonly string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  children.push(child);
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const killTimer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  void exited.finally(() => clearTimeout(killTimer));
  return {
    child,
    exited,
    output: () => stdout,
    async waitFor(text: string | RegExp, timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      const seen = () => (typeof text === "string" ? stdout.includes(text) : text.test(stdout));
      while (!seen()) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`waited for ${String(text)}; output:\n${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop(): Promise<number | null> {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

describe("turnpike start with no configuration (the embedded default)", () => {
  it("generates a private state file, prints a curl command that fetches a working credential, and reuses it on the next start", async () => {
    const stateHome = tempDir();
    const env = { ...process.env, XDG_STATE_HOME: stateHome };
    const port = await freePort();
    const apiPort = await freePort();
    const args = ["start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--api-listening-port", String(apiPort)];

    const first = startBinary(args, env);
    await first.waitFor("turnpike started");
    await first.waitFor(/Get a credential:\s+(curl .*)$/m);
    const curl = /Get a credential:\s+(curl .*)$/m.exec(first.output())![1]!;
    const stateFile = join(stateHome, "turnpike", "state.json");
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(first.output()).not.toMatch(/"apiKey"|staticAuthSecret/);

    const { stdout, code } = await runBounded("bash", ["-c", curl], 10_000, env);
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as { username: string; password: string; iceServers: { urls: string[] }[] };
    expect(answer.username).toMatch(/^\d{10}:alice$/);
    expect(answer.iceServers[0]!.urls).toContain(`turn:127.0.0.1:${port}?transport=udp`);
    const client = await SocketTurnClient.udp({ address: "127.0.0.1", port }, { username: answer.username, password: answer.password, realm: "turnpike" });
    expect((await client.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
    client.close();
    expect(await first.stop()).toBe(0);

    // Same state file on the next start: a credential minted before the restart still works.
    const second = startBinary(args, env);
    await second.waitFor("turnpike started");
    // The note is printed just after the start line.
    await second.waitFor(/generated earlier/);
    const again = await SocketTurnClient.udp({ address: "127.0.0.1", port }, { username: answer.username, password: answer.password, realm: "turnpike" });
    expect((await again.request(Method.Allocate, [UDP])).messageClass).toBe(MessageClass.SuccessResponse);
    again.close();
    expect(await second.stop()).toBe(0);
  });
});

describe("secret rotation without a restart (SIGHUP, turnpike reload)", () => {
  it("accepts old and new secrets while both are listed, drops the old one after, and keeps live allocations relaying", async () => {
    const dir = tempDir();
    const env = { ...process.env, XDG_STATE_HOME: dir };
    const port = await freePort();
    const conf = join(dir, "turnserver.conf");
    const pidfile = join(dir, "turnpike.pid");
    const write = (secrets: string[]): void =>
      writeFileSync(
        conf,
        [
          "listening-ip=127.0.0.1",
          `listening-port=${port}`,
          "no-api",
          "realm=example.org",
          "use-auth-secret",
          ...secrets.map((s) => `static-auth-secret=${s}`),
          "allow-loopback-peers",
          `pidfile=${pidfile}`,
        ].join("\n"),
      );
    const credential = (secret: string, user: string) => {
      const minted = mintRestCredential({ secret, user, ttlSeconds: 600, nowMs: Date.now() });
      expect(minted.password).toBe(createHmac("sha1", secret).update(minted.username).digest("base64"));
      return { username: minted.username, password: minted.password, realm: "example.org" };
    };
    const allocate = async (creds: ReturnType<typeof credential>): Promise<number | undefined> => {
      const client = await SocketTurnClient.udp({ address: "127.0.0.1", port }, creds);
      const response = await client.request(Method.Allocate, [UDP]);
      client.close();
      return response.messageClass === MessageClass.SuccessResponse ? 0 : errorCode(response);
    };
    const reload = async (): Promise<void> => {
      const { code, stdout } = await runBounded(process.execPath, [BIN, "reload", "-c", conf], 10_000, env);
      expect(code, stdout).toBe(0);
    };

    write(["old"]);
    const server = startBinary(["start", "-c", conf], env);
    const peer = await startEchoPeer();
    try {
      await server.waitFor("turnpike started");
      // A live allocation made with the old secret, relaying to a peer through a channel.
      const live = await SocketTurnClient.udp({ address: "127.0.0.1", port }, credential("old", "live"));
      await live.request(Method.Allocate, [UDP, { name: "LIFETIME", value: 3600 }]);
      const peerAddress = { family: "IPv4", address: "127.0.0.1", port: peer.port } as const;
      await live.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, { name: "XOR-PEER-ADDRESS", value: peerAddress }]);
      const ping = (): Promise<Buffer | undefined> => {
        const frame = Buffer.from([0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]);
        live.send(frame);
        return live.next((f) => f[0] === 0x40, 2000);
      };
      expect(await ping()).toBeDefined();

      write(["new", "old"]);
      await reload();
      // "reload applied" is logged once every relay thread has the new configuration.
      await server.waitFor(/reload applied/);
      expect(await allocate(credential("new", "a"))).toBe(0);
      expect(await allocate(credential("old", "b"))).toBe(0);

      write(["new"]);
      await reload();
      await server.waitFor(/reload applied[\s\S]*reload applied/);
      expect(await allocate(credential("old", "c"))).toBe(401);
      expect(await allocate(credential("new", "d"))).toBe(0);
      // The allocation made before the rotation still relays.
      expect(await ping()).toBeDefined();
      live.close();
    } finally {
      await peer.close();
      expect(await server.stop()).toBe(0);
    }
    expect(server.output()).not.toContain("static-auth-secret=old");
  });
});

describe("draining (SIGUSR1, turnpike drain, POST /api/v1/drain)", () => {
  async function startWithConfig(extra: string[]) {
    const dir = tempDir();
    const env = { ...process.env, XDG_STATE_HOME: dir };
    const port = await freePort();
    const apiPort = await freePort();
    const conf = join(dir, "turnserver.conf");
    writeFileSync(
      conf,
      [
        "listening-ip=127.0.0.1",
        `listening-port=${port}`,
        `api-listening-port=${apiPort}`,
        "api-key=drain-test-key",
        "realm=example.org",
        "user=alice:pw",
        "user=bob:pw",
        "allow-loopback-peers",
        `pidfile=${join(dir, "turnpike.pid")}`,
        ...extra,
      ].join("\n"),
    );
    const server = startBinary(["start", "-c", conf], env);
    await server.waitFor("turnpike started");
    return { server, conf, env, port, apiPort };
  }

  it("refuses new allocations with 403, reports not ready, keeps existing ones relaying, and exits 0 when the last ends", async () => {
    const { server, conf, env, port, apiPort } = await startWithConfig([]);
    const peer = await startEchoPeer();
    try {
      const live = await SocketTurnClient.udp({ address: "127.0.0.1", port }, { username: "alice", password: "pw", realm: "example.org" });
      await live.request(Method.Allocate, [UDP]);
      const peerAddress = { family: "IPv4", address: "127.0.0.1", port: peer.port } as const;
      await live.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, { name: "XOR-PEER-ADDRESS", value: peerAddress }]);

      const { code } = await runBounded(process.execPath, [BIN, "drain", "-c", conf], 10_000, env);
      expect(code).toBe(0);
      await server.waitFor("draining: no new allocations");

      const late = await SocketTurnClient.udp({ address: "127.0.0.1", port }, { username: "bob", password: "pw", realm: "example.org" });
      const refused = await late.request(Method.Allocate, [UDP]);
      expect(errorCode(refused)).toBe(403);
      expect(getAttribute(refused, "ERROR-CODE")?.reason).toMatch(/draining/);
      late.close();
      expect((await fetch(`http://127.0.0.1:${apiPort}/readyz`)).status).toBe(503);

      live.send(Buffer.from([0x40, 0x00, 0x00, 0x02, 7, 7, 0, 0]));
      expect(await live.next((f) => f[0] === 0x40, 2000)).toBeDefined();
      expect(server.child.exitCode).toBeNull();

      await live.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }]);
      live.close();
      expect(await server.exited).toBe(0);
      expect(server.output()).toMatch(/"msg":"drained"/);
    } finally {
      await peer.close();
      await server.stop();
    }
  });

  it("exits at drain-grace even with allocations left, saying how many; the API can start the drain", async () => {
    const { server, port, apiPort } = await startWithConfig(["drain-grace=1"]);
    try {
      const live = await SocketTurnClient.udp({ address: "127.0.0.1", port }, { username: "alice", password: "pw", realm: "example.org" });
      await live.request(Method.Allocate, [UDP]);
      const response = await fetch(`http://127.0.0.1:${apiPort}/api/v1/drain`, { method: "POST", headers: { authorization: "Bearer drain-test-key" } });
      expect(response.status).toBe(202);
      const started = Date.now();
      expect(await server.exited).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(800);
      expect(server.output()).toMatch(/"allocations":1,"graceSeconds":1,"msg":"drain-grace is over; the allocations left end with the process"/);
      expect(server.output()).not.toMatch(/"msg":"drained"/);
      live.close();
    } finally {
      await server.stop();
    }
  });
  it("says the drain was cut short when SIGTERM comes during it, not that it drained", async () => {
    const { server, port, apiPort } = await startWithConfig(["drain-grace=60"]);
    try {
      const live = await SocketTurnClient.udp({ address: "127.0.0.1", port }, { username: "alice", password: "pw", realm: "example.org" });
      await live.request(Method.Allocate, [UDP]);
      const response = await fetch(`http://127.0.0.1:${apiPort}/api/v1/drain`, { method: "POST", headers: { authorization: "Bearer drain-test-key" } });
      expect(response.status).toBe(202);
      await server.waitFor("draining: no new allocations");
      expect(await server.stop()).toBe(0);
      expect(server.output()).toMatch(/"msg":"drain cut short: the server is stopping"/);
      expect(server.output()).not.toMatch(/"msg":"drained"|drain-grace is over/);
      live.close();
    } finally {
      await server.stop();
    }
  });
});

describe("a stale pidfile (turnpike reload)", () => {
  it("signals nothing when the process it names is not turnpike", async () => {
    const dir = tempDir();
    const other = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const pidfile = join(dir, "turnpike.pid");
      writeFileSync(pidfile, `${other.pid}\n`);
      const { code, stdout } = await runBounded(process.execPath, [BIN, "reload", "--pidfile", pidfile], 10_000, { ...process.env, XDG_STATE_HOME: dir });
      expect(code).toBe(1);
      expect(stdout).toContain(`process ${other.pid} from pidfile ${pidfile} is not turnpike (it runs sleep)`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(other.exitCode).toBeNull();
      expect(other.signalCode).toBeNull();
    } finally {
      other.kill("SIGKILL");
    }
  });
});

describe("the process as others see it", () => {
  it("is named turnpike, with no arguments shown, and reloads by its pidfile whatever node options started it", async () => {
    const dir = tempDir();
    const port = await freePort();
    const pidfile = join(dir, "turnpike.pid");
    const secret = "Zebra-cmdline-secret";
    const child = spawn(
      process.execPath,
      ["--disable-warning", "ExperimentalWarning", BIN, "start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--no-api", "--use-auth-secret", "--static-auth-secret", secret, "--realm", "r", "--relay-threads", "1", "--pidfile", pidfile],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, XDG_STATE_HOME: dir } },
    );
    children.push(child);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    for (let i = 0; i < 500 && !output.includes("turnpike started"); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(output).toContain("turnpike started");
    const commandLine = readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0").filter((arg) => arg !== "");
    expect(commandLine).toEqual(["turnpike"]);
    const { code, stdout } = await runBounded(process.execPath, [BIN, "reload", "--pidfile", pidfile], 10_000, { ...process.env, XDG_STATE_HOME: dir });
    expect(stdout).not.toContain(secret);
    expect(code).toBe(0);
    for (let i = 0; i < 500 && !output.includes("reload applied"); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(output).toContain("reload applied");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});

describe("signals while the server starts or stops", () => {
  it("holds a drain asked for (SIGUSR1) while the server starts until it can drain, and never opens Node's inspector", async () => {
    const dir = tempDir();
    const port = await freePort();
    // The warning for an option coturn has and turnpike ignores is logged before the server starts:
    // by then the binary's modules have loaded, and relay threads take a while longer to come up.
    const server = startBinary(
      ["start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--no-api", "--user", "alice:pw", "--realm", "r", "--relay-threads", "2", "--udp-self-balance", "--pidfile", join(dir, "turnpike.pid")],
      { ...process.env, XDG_STATE_HOME: dir },
    );
    await server.waitFor("udp-self-balance");
    let sent = 0;
    while (!server.output().includes("turnpike started") && server.child.exitCode === null && sent < 500) {
      server.child.kill("SIGUSR1");
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(sent).toBeGreaterThan(0);
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/"msg":"drained"/);
    expect(server.output()).not.toMatch(/Debugger listening|inspector/i);
  });

  it("ignores SIGHUP, SIGUSR1 and SIGUSR2 that come while it closes: it still stops cleanly, exit 0, pidfile removed", async () => {
    const dir = tempDir();
    const port = await freePort();
    const pidfile = join(dir, "turnpike.pid");
    const server = startBinary(
      ["start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--no-api", "--user", "alice:pw", "--realm", "r", "--relay-threads", "2", "--pidfile", pidfile],
      { ...process.env, XDG_STATE_HOME: dir },
    );
    await server.waitFor("turnpike started");
    server.child.kill("SIGTERM");
    // Until it exits: some land while it closes its listeners and relay threads.
    const signals = ["SIGHUP", "SIGUSR1", "SIGUSR2"] as const;
    for (let i = 0; i < 2000 && server.child.exitCode === null && server.child.signalCode === null; i++) {
      server.child.kill(signals[i % 3]);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(await server.exited).toBe(0);
    expect(server.child.signalCode).toBeNull();
    expect(server.output()).toMatch(/"msg":"turnpike stopped"/);
    expect(existsSync(pidfile)).toBe(false);
  });
});
