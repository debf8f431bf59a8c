// `turnpike credentials`: the endpoint's JSON, minted offline from the configuration or the state file.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { testPem } from "../helpers/tls-cert.js";
import { runCli } from "../../src/cli/run.js";
import { loadStartConfig } from "../../src/cli/start-config.js";
import type { CredentialResponse } from "../../src/api/ice-servers.js";
import { restPassword } from "../../src/credentials/rest-credentials.js";
import { useTempDir } from "../config/temp-dir.js";
import { createFakeCli, type FakeCli } from "./fake-deps.js";

const temp = useTempDir();

const NOW_MS = Date.UTC(2026, 0, 1);
const NOW_SECONDS = NOW_MS / 1000;
const SECRETS = ["Zebra-first-secret", "Zebra-second-secret"] as const;

function restConf(extra = ""): string {
  return temp.write("turnserver.conf", `use-auth-secret\nstatic-auth-secret=${SECRETS[0]}\nstatic-auth-secret=${SECRETS[1]}\nlistening-ip=192.0.2.10\n${extra}`);
}

async function credentials(args: readonly string[], cli: FakeCli = createFakeCli()): Promise<{ code: number; cli: FakeCli; json: () => CredentialResponse }> {
  const code = await runCli(["credentials", ...args], cli.deps);
  return { code, cli, json: () => JSON.parse(cli.stdout()) as CredentialResponse };
}

function writeStateFile(path: string, staticAuthSecret: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify({ version: 1, staticAuthSecret, apiKey: "Zebra-api-key", createdAt: "2026-01-01T00:00:00.000Z" }));
  chmodSync(path, mode);
}

describe("turnpike credentials", () => {
  it("prints the endpoint's JSON: a REST credential signed with the first static-auth-secret, and the URIs", async () => {
    const { code, cli, json } = await credentials(["-c", restConf(), "--user", "alice"]);
    expect(code).toBe(0);
    expect(cli.stderr()).toBe("");
    const username = `${NOW_SECONDS + 3600}:alice`;
    const password = restPassword(SECRETS[0], username);
    const uris = ["stun:192.0.2.10:3478", "turn:192.0.2.10:3478?transport=udp", "turn:192.0.2.10:3478?transport=tcp"];
    expect(json()).toEqual({ username, password, ttl: 3600, uris, iceServers: [{ urls: uris, username, credential: password }] });
    expect(cli.stdout()).not.toContain(SECRETS[0]);
    expect(cli.started).toEqual([]);
  });

  it("makes a username of the expiry alone without --user", async () => {
    const { json } = await credentials(["-c", restConf()]);
    expect(json().username).toBe(String(NOW_SECONDS + 3600));
    expect(json().password).toBe(restPassword(SECRETS[0], String(NOW_SECONDS + 3600)));
  });

  it("uses rest-api-separator between expiry and user", async () => {
    const { json } = await credentials(["-c", restConf("rest-api-separator=-\n"), "--user=alice"]);
    expect(json().username).toBe(`${NOW_SECONDS + 3600}-alice`);
  });

  it("takes --user as the REST user, not as the config's static-user option", async () => {
    const { code, json } = await credentials(["--user", "bob", "-c", restConf("user=carol:north\n")]);
    expect(code).toBe(0);
    expect(json().username).toBe(`${NOW_SECONDS + 3600}:bob`);
  });

  describe("--ttl", () => {
    it("defaults to rest-default-ttl", async () => {
      const { json } = await credentials(["-c", restConf("rest-default-ttl=120\n")]);
      expect(json()).toMatchObject({ ttl: 120, username: String(NOW_SECONDS + 120) });
    });

    it("takes a whole number of seconds up to rest-max-ttl", async () => {
      const { json } = await credentials(["-c", restConf("rest-max-ttl=600\nrest-default-ttl=60\n"), "--ttl", "600"]);
      expect(json()).toMatchObject({ ttl: 600, username: String(NOW_SECONDS + 600) });
    });

    it("clamps to rest-max-ttl, saying so on stderr", async () => {
      const { cli, json } = await credentials(["-c", restConf(), "--ttl=999999"]);
      expect(json()).toMatchObject({ ttl: 86_400, username: String(NOW_SECONDS + 86_400) });
      expect(cli.stderr()).toBe("turnpike: warning: --ttl 999999 is above rest-max-ttl 86400; the credential is valid 86400 seconds\n");
    });

    it.each(["0", "-5", "1.5", "ten", "", "12345678901"])("refuses %j with exit 2", async (ttl) => {
      const { code, cli } = await credentials(["-c", restConf(), `--ttl=${ttl}`]);
      expect(code).toBe(2);
      expect(cli.stderr()).toBe(`turnpike: --ttl ${JSON.stringify(ttl)} is not a whole number of seconds, 1 or more\n`);
      expect(cli.stdout()).toBe("");
    });
  });

  describe("--user, checked as the endpoint checks username", () => {
    it.each([
      ["a colon", "alice:pw-Zebra", "invalid --user: username must not contain ':'"],
      ["a C0 control character", "alice\u0007Zebra", "invalid --user: username must not contain control characters"],
      ["a C1 control character", "alice\u0085Zebra", "invalid --user: username must not contain control characters"],
      ["498 bytes of UTF-8", "é".repeat(249), "invalid --user: username must be at most 497 bytes of UTF-8"],
    ])("refuses %s with exit 2, without echoing it", async (_what, user, message) => {
      const { code, cli } = await credentials(["-c", restConf(), `--user=${user}`]);
      expect(code).toBe(2);
      expect(cli.stderr()).toBe(`turnpike: ${message}\n`);
      expect(cli.stderr()).not.toContain(user);
      expect(cli.stdout()).toBe("");
    });

    it("takes an empty --user as none, as the endpoint takes an empty username", async () => {
      const { code, json } = await credentials(["-c", restConf(), "--user="]);
      expect(code).toBe(0);
      expect(json().username).toBe(String(NOW_SECONDS + 3600));
    });

    it("accepts 497 bytes", async () => {
      const user = `${"é".repeat(248)}a`;
      const { code, json } = await credentials(["-c", restConf(), "--user", user]);
      expect(code).toBe(0);
      expect(json().username).toBe(`${NOW_SECONDS + 3600}:${user}`);
    });

    it("never mints a USERNAME past 509 bytes: a multi-byte rest-api-separator is refused", async () => {
      const user = `${"é".repeat(248)}a`;
      const { code, cli } = await credentials(["-c", restConf("rest-api-separator=€\n"), "--user", user]);
      expect(code).toBe(2);
      expect(cli.stderr()).toMatch(/: invalid value for rest-api-separator: "€" is not one printable ASCII character other than a digit or a space\n$/);
      expect(cli.stdout()).toBe("");
    });

    it("refuses --user twice, or without a value", async () => {
      expect((await credentials(["-c", restConf(), "--user", "a", "--user", "b"])).cli.stderr()).toBe("turnpike: --user is given twice\n");
      expect((await credentials(["-c", restConf(), "--user"])).cli.stderr()).toBe("turnpike: --user needs a value\n");
      expect((await credentials(["-c", restConf(), "--user", "--ttl", "5"])).code).toBe(2);
    });
  });

  describe("the host in the URIs", () => {
    it.each([
      ["rest-uri-host first", ["--rest-uri-host", "turn.example.com", "--external-ip", "203.0.113.7", "--listening-ip", "192.0.2.10"], "turn.example.com"],
      ["then the first external-ip's public address", ["--external-ip", "203.0.113.7/192.0.2.10", "--external-ip", "203.0.113.8/192.0.2.11", "--listening-ip", "192.0.2.10"], "203.0.113.7"],
      ["then the first listening-ip that is not a wildcard", ["--listening-ip", "::", "--listening-ip", "192.0.2.10"], "192.0.2.10"],
      ["then the machine's hostname", ["--listening-ip", "0.0.0.0"], "turn-host.example"],
      ["the hostname with no listening-ip at all (every interface: never the loopback address found first)", [], "turn-host.example"],
      ["an IPv6 address, bracketed", ["--listening-ip", "2001:db8::10"], "[2001:db8::10]"],
    ])("is %s", async (_what, args, host) => {
      const { json } = await credentials(["--use-auth-secret", "--static-auth-secret", "s", ...args]);
      expect(json().uris[0]).toBe(`stun:${host}:3478`);
    });
  });

  describe("the transports in the URIs", () => {
    const secretArgs = ["--use-auth-secret", "--static-auth-secret", "s", "--rest-uri-host", "turn.example.com"];

    it("follow no-udp and no-tcp, with stun: only over UDP (browsers send Binding over UDP alone)", async () => {
      expect((await credentials([...secretArgs, "--no-udp"])).json().uris).toEqual(["turn:turn.example.com:3478?transport=tcp"]);
      expect((await credentials([...secretArgs, "--no-tcp", "--listening-port", "3479"])).json().uris).toEqual([
        "stun:turn.example.com:3479",
        "turn:turn.example.com:3479?transport=udp",
      ]);
    });

    it("add turns: on tls-listening-port with cert and pkey, unless no-tls", async () => {
      const cert = temp.write("cert.pem", testPem().cert);
      const pkey = temp.write("key.pem", testPem().key);
      const tls = [...secretArgs, "--cert", cert, "--pkey", pkey, "--tls-listening-port", "5350"];
      expect((await credentials(tls)).json().uris).toEqual([
        "stun:turn.example.com:3478",
        "turn:turn.example.com:3478?transport=udp",
        "turn:turn.example.com:3478?transport=tcp",
        "turns:turn.example.com:5350?transport=tcp",
      ]);
      expect((await credentials([...tls, "--no-tls"])).json().uris).not.toContain("turns:turn.example.com:5350?transport=tcp");
    });
  });

  describe("the secret", () => {
    it("is refused, exit 2, when a config file gives none, even with a state file: a server started with that file would refuse it", async () => {
      const cli = createFakeCli();
      writeStateFile(join(cli.stateHome, "turnpike", "state.json"), "Zebra-generated");
      const file = temp.write("turnserver.conf", "realm=example.org\n");
      const { code } = await credentials(["-c", file], cli);
      expect(code).toBe(2);
      expect(cli.stderr()).toBe(
        `turnpike: no REST secret to sign with: ${file} sets no static-auth-secret, so a server started with it accepts no REST credentials ` +
          "(with a config file the state file is not used)\n",
      );
      expect(cli.stdout()).toBe("");
    });

    it("is static-auth-secret's without use-auth-secret, as in coturn and the server; use-auth-secret=false refuses, as the server does", async () => {
      const alone = await credentials(["-c", temp.write("turnserver.conf", `static-auth-secret=${SECRETS[0]}\n`)]);
      expect(alone.code).toBe(0);
      expect(alone.json().password).toBe(restPassword(SECRETS[0], alone.json().username));
      expect(alone.cli.stderr()).toBe("");
      const off = await credentials(["-c", temp.write("turnserver.conf", `use-auth-secret=false\nstatic-auth-secret=${SECRETS[0]}\n`)]);
      expect(off.code).toBe(2);
      expect(off.cli.stderr()).toContain("turnpike: no REST secret to sign with: use-auth-secret is false, so a server started with these settings accepts no REST credentials\n");
      expect(off.cli.stderr()).not.toContain(SECRETS[0]);
    });

    it("is the state file's when there is no config file and no secret flag", async () => {
      const cli = createFakeCli();
      writeStateFile(join(cli.stateHome, "turnpike", "state.json"), "Zebra-generated");
      const { code, json } = await credentials(["--user", "alice", "--listening-ip", "192.0.2.10"], cli);
      expect(code).toBe(0);
      expect(json().password).toBe(restPassword("Zebra-generated", json().username));
      expect(cli.stdout()).not.toContain("Zebra-generated");
    });

    it("is read from state-file when given", async () => {
      const stateFile = join(temp.path(), "elsewhere", "state.json");
      writeStateFile(stateFile, "Zebra-elsewhere");
      const { json } = await credentials(["--state-file", stateFile]);
      expect(json().password).toBe(restPassword("Zebra-elsewhere", json().username));
    });

    it("is the flags' when they give one, even with a state file", async () => {
      const cli = createFakeCli();
      writeStateFile(join(cli.stateHome, "turnpike", "state.json"), "Zebra-generated");
      const { json } = await credentials(["--use-auth-secret", "--static-auth-secret", SECRETS[1]], cli);
      expect(json().password).toBe(restPassword(SECRETS[1], json().username));
    });

    // What `turnpike start` with the same flags signs with: the state file's secret, or none at all.
    describe.each([
      { flags: ["--use-auth-secret"], signsWith: "state file" },
      { flags: ["--static-auth-secret", SECRETS[1], "--use-auth-secret=false"], signsWith: "state file" },
      { flags: ["--static-auth-secret", SECRETS[1]], signsWith: "the flag's secret" },
      { flags: ["--api-key", "Zebra-flag-api-key-0123456789"], signsWith: "nothing" },
      { flags: ["--api-key", "Zebra-flag-api-key-0123456789", "--static-auth-secret", SECRETS[1], "--use-auth-secret=false"], signsWith: "nothing" },
    ])("with no config file and the flags $flags", ({ flags, signsWith }) => {
      it(`signs with ${signsWith === "state file" ? "the state file's secret" : signsWith === "nothing" ? "no secret (exit 2)" : signsWith}, as a server started with those flags would`, async () => {
        const cli = createFakeCli();
        writeStateFile(join(cli.stateHome, "turnpike", "state.json"), "Zebra-generated");
        const started = await loadStartConfig(undefined, flags, cli.deps);
        const { code, json } = await credentials(flags, cli);
        if (signsWith === "state file") {
          expect(started.config.staticAuthSecrets).toEqual(["Zebra-generated"]);
          expect(code).toBe(0);
          expect(json().password).toBe(restPassword("Zebra-generated", json().username));
          // Nor does it warn of what does not happen: the warnings are start's.
          expect(cli.stderr()).toBe(started.warnings.map((warning) => `turnpike: warning: ${warning}\n`).join(""));
          expect(cli.stderr()).not.toContain("will all be refused");
          expect(cli.stderr()).not.toContain("is ignored");
        } else if (signsWith === "the flag's secret") {
          expect(started.config.staticAuthSecrets).toEqual([SECRETS[1]]);
          expect(code).toBe(0);
          expect(json().password).toBe(restPassword(SECRETS[1], json().username));
          expect(cli.stderr()).toBe("");
        } else {
          expect(started.config.useAuthSecret).toBe(false);
          expect(code).toBe(2);
          expect(cli.stdout()).toBe("");
          expect(cli.stderr()).toContain("turnpike: no REST secret to sign with: ");
        }
        expect(cli.stderr()).not.toContain(SECRETS[1]);
      });
    });

    it("says so on stderr when it signs with the state file's secret although static-auth-secret was given with use-auth-secret=false", async () => {
      const cli = createFakeCli();
      const stateFile = join(cli.stateHome, "turnpike", "state.json");
      writeStateFile(stateFile, "Zebra-generated");
      await credentials(["--static-auth-secret", SECRETS[1], "--use-auth-secret=false"], cli);
      expect(cli.stderr()).toBe(
        `turnpike: warning: static-auth-secret with use-auth-secret=false is replaced by the secret generated in ${stateFile}; drop use-auth-secret=false to use your own\n`,
      );
    });

    it("is refused, exit 2, naming where the state file would be, when there is neither config nor state file; nothing is created", async () => {
      const cli = createFakeCli();
      const stateFile = join(cli.stateHome, "turnpike", "state.json");
      const { code } = await credentials([], cli);
      expect(code).toBe(2);
      expect(cli.stderr()).toBe(
        "turnpike: no REST secret to sign with: set static-auth-secret (with -c FILE or as flags), " +
          `or run "turnpike start" once without a config file to generate one in ${stateFile}\n`,
      );
      expect(existsSync(join(cli.stateHome, "turnpike"))).toBe(false);
    });

    it("is refused, exit 1, when the state file is readable by others", async () => {
      const cli = createFakeCli();
      const stateFile = join(cli.stateHome, "turnpike", "state.json");
      writeStateFile(stateFile, "Zebra-generated", 0o644);
      const { code } = await credentials([], cli);
      expect(code).toBe(1);
      expect(cli.stderr()).toBe(`turnpike: state file ${stateFile} is accessible to group or others (mode 644); it holds secrets: chmod 600 ${stateFile}\n`);
    });
  });

  it("reports a configuration error with its line, exit 2", async () => {
    const file = temp.write("turnserver.conf", "use-auth-secret\nrest-max-ttl=60\n");
    const { code, cli } = await credentials(["-c", file]);
    expect(code).toBe(2);
    expect(cli.stderr()).toBe(`turnpike: ${file}:2: rest-default-ttl 3600 is above rest-max-ttl 60\n`);
  });

  it("prints its help", async () => {
    const { code, cli } = await credentials(["--help"]);
    expect(code).toBe(0);
    expect(cli.stdout()).toMatch(/^Usage: turnpike credentials \[--user NAME\] \[--ttl SECONDS\] \[-c FILE\]/);
    expect(cli.stdout()).toMatch(/^  --user <name> +The application user/m);
    expect(cli.stdout()).toMatch(/^  --ttl <seconds> +Seconds the credential is valid/m);
  });
});
