// An operator's turnpike runs without privileges: every file or port it may not use stops the start
// (or the command) with the path or port and the reason, never a stack trace. Run as root, the binary
// runs with the capabilities that would hide those errors taken away (setpriv); otherwise as is.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, runBounded } from "../helpers/processes.js";

const BIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const ROOT = process.getuid?.() === 0;
// Reading and writing what mode bits forbid, and binding ports below ip_unprivileged_port_start.
const DROPPED = "-dac_override,-dac_read_search,-net_bind_service";

const dir = mkdtempSync(join(tmpdir(), "turnpike-unprivileged-"));
afterAll(() => {
  chmodSync(join(dir, "read-only"), 0o755);
  rmSync(dir, { recursive: true, force: true });
});
/** Mode bits forbid what each test needs: the owner (this user) included. */
const readOnlyDir = join(dir, "read-only");
mkdirSync(readOnlyDir);
chmodSync(readOnlyDir, 0o555);
const unreadable = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, 0o000);
  return path;
};
const unreadableConfig = unreadable("turnserver.conf", "realm=example.org\n");
const unreadableCert = unreadable("cert.pem", "-----BEGIN CERTIFICATE-----\n");
const unreadableState = unreadable("state.json", "{}\n");

/** The first port that needs privileges here; undefined where every port is open to anyone. */
function privilegedPort(): number | undefined {
  const start = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
  return start > 1 ? start - 1 : undefined;
}

async function runUnprivileged(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ output: string; code: number | null }> {
  const command = ROOT ? "setpriv" : process.execPath;
  const argv = ROOT ? [`--bounding-set=${DROPPED}`, "--inh-caps=-all", "--ambient-caps=-all", "--", process.execPath, BIN, ...args] : [BIN, ...args];
  const { stdout, code } = await runBounded(command, argv, 15_000, { ...process.env, XDG_STATE_HOME: join(dir, "state-home"), ...env });
  return { output: stdout, code };
}

const STATIC = ["--use-auth-secret", "--static-auth-secret", "unprivileged-test-secret", "--no-api", "--no-tcp", "--listening-ip", "127.0.0.1"];

describe("without privileges", () => {
  it("checks the capabilities are gone: a file of mode 000 cannot be read", async () => {
    const { output, code } = await runUnprivileged(["check-config", "-c", unreadableConfig]);
    expect(output).toBe(`turnpike: ${unreadableConfig}: cannot read config file: permission denied\n`);
    expect(code).toBe(2);
  });

  it.each([
    ["log-file", ["--log-file", join(readOnlyDir, "turnpike.log")], `turnpike: command line: cannot write log-file ${join(readOnlyDir, "turnpike.log")}: ${readOnlyDir}: permission denied\n`],
    ["pidfile", ["--pidfile", join(readOnlyDir, "turnpike.pid")], `turnpike: command line: cannot write pidfile ${join(readOnlyDir, "turnpike.pid")}: ${readOnlyDir}: permission denied\n`],
    ["cert", ["--cert", unreadableCert, "--pkey", unreadableCert], `turnpike: command line: cannot read cert file ${unreadableCert}: permission denied\n`],
  ])("start refuses a %s it may not use, with the path and the reason (exit 2)", async (_name, flags, message) => {
    // A free port, should the start get as far as listening (it must not).
    const { output, code } = await runUnprivileged(["start", ...STATIC, "--listening-port", String(await freePort()), ...flags]);
    expect(output).toBe(message);
    expect(code).toBe(2);
  });

  it("start with no credentials refuses a state directory it cannot create, and a state file it cannot read (exit 1)", async () => {
    const listen = ["--listening-ip", "127.0.0.1", "--listening-port", String(await freePort()), "--no-tcp"];
    const noDirectory = await runUnprivileged(["start", ...listen], { XDG_STATE_HOME: readOnlyDir });
    expect(noDirectory.output).toBe(`turnpike: cannot create the state directory ${join(readOnlyDir, "turnpike")}: permission denied\n`);
    expect(noDirectory.code).toBe(1);
    const noRead = await runUnprivileged(["start", ...listen, "--state-file", unreadableState]);
    expect(noRead.output).toBe(`turnpike: cannot read state file ${unreadableState}: permission denied\n`);
    expect(noRead.code).toBe(1);
    const credentials = await runUnprivileged(["credentials", "--state-file", unreadableState]);
    expect(credentials.output).toBe(`turnpike: cannot read state file ${unreadableState}: permission denied\n`);
    expect(credentials.code).toBe(1);
  });

  const port = privilegedPort();
  // Where the kernel lets anyone bind any port (ip_unprivileged_port_start 0 or 1) there is no such error to show.
  it.runIf(port !== undefined)(`start refuses a port below ip_unprivileged_port_start (${port ?? "none here"}) and says why (exit 1)`, async () => {
    const { output, code } = await runUnprivileged(["start", ...STATIC, "--listening-port", String(port)]);
    expect(output).toBe(`turnpike: cannot listen on udp 127.0.0.1:${port}: permission denied (ports below 1024 need privileges)\n`);
    expect(code).toBe(1);
  });
});
