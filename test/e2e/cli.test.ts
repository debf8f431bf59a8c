import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import dgram from "node:dgram";
import { fileURLToPath } from "node:url";
import stun from "stun";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { freePort, runBounded } from "../helpers/processes.js";
import { udpExchange } from "../helpers/sockets.js";
import { makeSelfSignedCertificate, servedFingerprint } from "../helpers/tls-cert.js";
import { SocketTurnClient } from "../helpers/turn-socket-client.js";
import { Method, MessageClass } from "../../src/stun/constants.js";

// The built binary, as an operator runs it (`npm test` builds first).
const BIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

// A private state directory, so the embedded default never touches the real one.
const STATE_HOME = mkdtempSync(join(tmpdir(), "turnpike-cli-"));
afterAll(() => rmSync(STATE_HOME, { recursive: true, force: true }));
const ENV = { ...process.env, XDG_STATE_HOME: STATE_HOME };

// Servers a test started: whatever a failing test left running is killed after it.
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function startBinary(args: readonly string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: ENV });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const killTimer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  exited.finally(() => clearTimeout(killTimer));
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    async started(): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!stdout.includes("turnpike started")) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`did not start: ${stdout}${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}


describe("the turnpike binary", () => {
  it("starts from flags, answers Binding, and exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const server = startBinary(["start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--no-tcp", "--no-api"]);
    await server.started();
    const request = stun.encode(stun.createMessage(stun.constants.STUN_BINDING_REQUEST));
    const { answer, localPort } = await udpExchange(request, { address: "127.0.0.1", port });
    expect(stun.decode(answer!).getXorAddress().port).toBe(localPort);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  it("logs, on SIGTERM, the end of every allocation: over UDP and over TCP, with 2 relay threads", async () => {
    const port = await freePort();
    const server = startBinary(["start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--no-api", "--user", "u:p", "--relay-threads", "2"]);
    await server.started();
    const credentials = { username: "u", password: "p", realm: "turnpike" };
    const clients = [await SocketTurnClient.udp({ address: "127.0.0.1", port }, credentials), await SocketTurnClient.stream("tcp", { address: "127.0.0.1", port }, credentials)];
    try {
      for (const client of clients) expect((await client.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }])).messageClass).toBe(MessageClass.SuccessResponse);
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      const messages = server.output().stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => String((JSON.parse(line) as { msg: unknown }).msg));
      expect(messages.filter((msg) => msg.startsWith("allocation closed")).sort()).toEqual(["allocation closed with its UDP listener", "allocation closed with its connection"]);
      expect(messages.indexOf("turnpike stopped")).toBe(messages.length - 1);
    } finally {
      for (const client of clients) client.close();
    }
  });

  it("keeps serving, says why on stderr and exits 0 on SIGTERM when its log-file refuses writes (full disk: /dev/full)", async () => {
    const port = await freePort();
    const apiPort = await freePort();
    const server = startBinary([
      ...["start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--no-tcp", "--user", "u:p"],
      ...["--api-listening-ip", "127.0.0.1", "--api-listening-port", String(apiPort), "--log-file", "/dev/full"],
    ]);
    // The API answers although every log line fails: the main thread is not stuck retrying them.
    let health: number | undefined;
    for (const deadline = Date.now() + 10_000; health !== 200 && Date.now() < deadline && server.child.exitCode === null; ) {
      health = await fetch(`http://127.0.0.1:${apiPort}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
        (response) => response.status,
        () => undefined,
      );
      if (health !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(health, JSON.stringify(server.output())).toBe(200);
    const request = stun.encode(stun.createMessage(stun.constants.STUN_BINDING_REQUEST));
    const { answer } = await udpExchange(request, { address: "127.0.0.1", port });
    expect(answer).toBeDefined();
    expect(server.output().stderr).toContain("turnpike: cannot write the log (ENOSPC");
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    // Said once, not once per line.
    expect(server.output().stderr.split("cannot write the log").length - 1).toBe(1);
  });

  it("reopens log-file on SIGHUP, so that logrotate can move it and signal (no copytruncate)", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "turnpike-logrotate-"));
    try {
      const logFile = join(dir, "turnpike.log");
      const server = startBinary(["start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--no-tcp", "--no-api", "--user", "u:p", "--log-file", logFile]);
      const read = (path: string): string => (existsSync(path) && statSync(path).isFile() ? readFileSync(path, "utf8") : "");
      const waitFor = async (path: string, text: string): Promise<void> => {
        for (const deadline = Date.now() + 10_000; !read(path).includes(text); ) {
          if (Date.now() > deadline || server.child.exitCode !== null) throw new Error(`no "${text}" in ${path}: ${read(path)} ${JSON.stringify(server.output())}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      await waitFor(logFile, "turnpike started");
      renameSync(logFile, `${logFile}.1`);
      server.child.kill("SIGHUP");
      await waitFor(logFile, "reload applied");
      expect(read(`${logFile}.1`)).toContain("turnpike started");
      expect(read(`${logFile}.1`)).not.toContain("reloading configuration");
      // A rotation whose new file cannot be opened (here a directory took its name): the file as it was open goes on.
      renameSync(logFile, `${logFile}.2`);
      mkdirSync(logFile);
      server.child.kill("SIGHUP");
      await waitFor(`${logFile}.2`, "log-file not reopened; logging goes on to the file as it was open");
      // The reload that follows still applies: log-file keeps its value until a restart, so its path
      // holds back no rotation of a secret or key.
      // (The first reload's lines are in this file too: it was log-file until this rotation.)
      await vi.waitFor(() => expect(read(`${logFile}.2`).split("reload applied").length - 1).toBe(2), { timeout: 10_000 });
      expect(read(`${logFile}.2`)).not.toContain("reload refused");
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(read(`${logFile}.2`)).toContain("turnpike stopped");
      expect(server.output().stderr).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops at start, exit 1 with one line, for a relay-ip that is not an address of this machine", async () => {
    const port = await freePort();
    const server = startBinary(["start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--no-api", "--user", "u:p", "--relay-ip", "192.0.2.1"]);
    expect(await server.exited).toBe(1);
    expect(server.output().stderr).toBe("turnpike: cannot relay on relay-ip 192.0.2.1: EADDRNOTAVAIL (not an address of this machine)\n");
  });

  it("will not start on a pidfile a running turnpike holds (exit 1), which goes on naming the first", async () => {
    const dir = mkdtempSync(join(tmpdir(), "turnpike-pidfile-"));
    try {
      const pidfile = join(dir, "turnpike.pid");
      const common = ["start", "--listening-ip", "127.0.0.1", "--no-api", "--user", "u:p", "--pidfile", pidfile];
      const first = startBinary([...common, "--listening-port", String(await freePort())]);
      await first.started();
      const second = startBinary([...common, "--listening-port", String(await freePort())]);
      expect(await second.exited).toBe(1);
      expect(second.output().stderr).toBe(`turnpike: pidfile ${pidfile} belongs to turnpike process ${first.child.pid}, which is running: give this server a pidfile of its own\n`);
      expect(readFileSync(pidfile, "utf8")).toBe(`${first.child.pid}\n`);
      first.child.kill("SIGTERM");
      expect(await first.exited).toBe(0);
      // Once it has gone, a pidfile left behind (a crash) does not stop the next start.
      writeFileSync(pidfile, `${first.child.pid}\n`);
      const third = startBinary([...common, "--listening-port", String(await freePort())]);
      await third.started();
      expect(readFileSync(pidfile, "utf8")).toBe(`${third.child.pid}\n`);
      third.child.kill("SIGTERM");
      expect(await third.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the TLS certificates afresh on SIGUSR2 (coturn's signal) and SIGHUP: new handshakes get a renewed one; an unusable one is refused and the last stays", async () => {
    const [first, renewed, api] = [makeSelfSignedCertificate(), makeSelfSignedCertificate(), makeSelfSignedCertificate()];
    try {
      const [port, tlsPort, apiPort] = [await freePort(), await freePort(), await freePort()];
      const server = startBinary([
        ...["start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--tls-listening-port", String(tlsPort), "--user", "u:p"],
        ...["--cert", first.certPath, "--pkey", first.keyPath, "--relay-threads", "2"],
        ...["--api-listening-ip", "127.0.0.1", "--api-listening-port", String(apiPort), "--api-cert", api.certPath, "--api-pkey", api.keyPath],
      ]);
      await server.started();
      const fingerprintOf = (pem: Buffer): string => new X509Certificate(pem).fingerprint256;
      expect(await servedFingerprint(tlsPort)).toBe(fingerprintOf(first.cert));
      expect(await servedFingerprint(apiPort)).toBe(fingerprintOf(api.cert));
      const waitForLog = async (text: string, count: number): Promise<void> => {
        for (const deadline = Date.now() + 10_000; server.output().stdout.split(text).length - 1 < count; ) {
          if (Date.now() > deadline || server.child.exitCode !== null) throw new Error(`no "${text}" (${count}): ${JSON.stringify(server.output())}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };

      // A renewal in place (certbot's deploy hook): same paths, new files, then coturn's SIGUSR2.
      copyFileSync(renewed.certPath, first.certPath);
      copyFileSync(renewed.keyPath, first.keyPath);
      copyFileSync(renewed.certPath, api.certPath);
      copyFileSync(renewed.keyPath, api.keyPath);
      server.child.kill("SIGUSR2");
      await waitForLog("reload applied", 1);
      expect(server.output().stdout).toContain('"msg":"TLS certificate loaded"');
      expect(server.output().stdout).toContain('"msg":"api TLS certificate loaded"');
      expect(await servedFingerprint(tlsPort)).toBe(fingerprintOf(renewed.cert));
      expect(await servedFingerprint(apiPort)).toBe(fingerprintOf(renewed.cert));

      // A key that does not go with the certificate: the reload is refused and the renewed certificate stays.
      execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", first.keyPath], { stdio: "ignore" });
      server.child.kill("SIGHUP");
      await waitForLog("reload refused; the running configuration stays", 1);
      expect(await servedFingerprint(tlsPort)).toBe(fingerprintOf(renewed.cert));
      expect(server.child.exitCode).toBeNull();
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.output().stderr).toBe("");
    } finally {
      for (const made of [first, renewed, api]) made.remove();
    }
  });

  it("check-config and start refuse a log-file or pidfile they cannot write (a read-only mount); credentials, which writes neither, does not mind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "turnpike-readonly-"));
    try {
      const readOnly = join(dir, "ro");
      mkdirSync(readOnly);
      // A mount namespace of the command's own, with a read-only tmpfs on `ro`: EROFS holds for root too.
      const inReadOnlyMount = (args: readonly string[]) =>
        runBounded("unshare", ["--mount", "sh", "-c", 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"', readOnly, process.execPath, BIN, ...args], 10_000, ENV);
      const secret = ["--use-auth-secret", "--static-auth-secret", "north", "--no-api"];
      for (const [option, file] of [["--log-file", "turnpike.log"], ["--pidfile", "turnpike.pid"]] as const) {
        const path = join(readOnly, file);
        for (const command of ["check-config", "start"]) {
          const { stdout, code } = await inReadOnlyMount([command, ...secret, option, path]);
          expect(code, stdout).toBe(2);
          expect(stdout).toContain(`cannot write ${option.slice(2)} ${path}: ${readOnly}: EROFS`);
        }
        const minted = await inReadOnlyMount(["credentials", ...secret, option, path, "--user", "alice"]);
        expect(minted.code, minted.stdout).toBe(0);
        expect(minted.stdout).toContain('"username"');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 1 with one line when the port is in use", async () => {
    const busy = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => busy.bind(0, "127.0.0.1", resolve));
    try {
      const port = busy.address().port;
      const { stdout, code } = await runBounded(process.execPath, [BIN, "start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--no-tcp", "--no-api"], 10_000, ENV);
      expect(code).toBe(1);
      expect(stdout).toContain(`turnpike: cannot listen on udp 127.0.0.1:${port}: address already in use`);
    } finally {
      busy.close();
    }
  });

  it("keeps in log-file the lines logged before a start that fails at once (port in use)", async () => {
    const busy = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => busy.bind(0, "127.0.0.1", resolve));
    const dir = mkdtempSync(join(tmpdir(), "turnpike-earlyexit-"));
    try {
      const port = busy.address().port;
      const logFile = join(dir, "turnpike.log");
      // syslog is a coturn option turnpike ignores: its warning is logged before the listeners open.
      const args = [BIN, "start", "--listening-ip", "127.0.0.1", "--listening-port", String(port), "--no-tcp", "--no-api", "--user", "u:p", "--syslog", "--log-file", logFile];
      const { stdout, code } = await runBounded(process.execPath, args, 10_000, ENV);
      expect(code).toBe(1);
      expect(stdout).toBe(`turnpike: cannot listen on udp 127.0.0.1:${port}: address already in use\n`);
      expect(readFileSync(logFile, "utf8")).toContain("ignoring coturn options turnpike does not implement yet: syslog");
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 naming the option for a typo, with a suggestion", async () => {
    const { stdout, code } = await runBounded(process.execPath, [BIN, "start", "--listenig-port", "3478"], 10_000, ENV);
    expect(code).toBe(2);
    expect(stdout).toMatch(/listenig-port.*listening-port/);
  });

  it("prints its version and exits 0", async () => {
    const { stdout, code } = await runBounded(process.execPath, [BIN, "--version"], 10_000, ENV);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^(turnpike )?\d+\.\d+\.\d+$/);
  });
});
