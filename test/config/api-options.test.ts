// The credential endpoint's and the process's rows: api-*, rest-*, no-api, state-file, pidfile.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { testPem } from "../helpers/tls-cert.js";
import { DEFAULT_CONFIG, type Config } from "../../src/config/config.js";
import { configFromObject } from "../../src/config/config-from-object.js";
import { ConfigError } from "../../src/config/config-error.js";
import { loadConfig } from "../../src/config/load-config.js";
import { isLoopback } from "../../src/config/validate-config.js";
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

describe("the credential endpoint's defaults", () => {
  it("listens on 127.0.0.1:8080 over HTTP, without keys, anonymous minting, CORS, or a pidfile; 60 requests a minute; TTL 3600 up to 86400", () => {
    expect(DEFAULT_CONFIG).toMatchObject({
      apiListeningIp: "127.0.0.1",
      apiListeningPort: 8080,
      apiKeys: [],
      apiAllowAnonymous: false,
      apiCorsOrigins: [],
      apiRateLimitPerMinute: 60,
      noApi: false,
      restDefaultTtlSeconds: 3600,
      restMaxTtlSeconds: 86_400,
    });
    for (const field of ["apiCert", "apiPkey", "restUriHost", "stateFile", "pidfile"] as const) expect(field in DEFAULT_CONFIG, field).toBe(false);
  });
});

describe("loadConfig: the credential endpoint's rows", () => {
  it("reads every one from the file, resolving paths against the file's directory", () => {
    temp.write("api-cert.pem", testPem().cert);
    temp.write("api-key.pem", testPem().key);
    const { config, warnings } = loadText(
      [
        "api-listening-ip=::1",
        "api-listening-port=8443",
        "api-cert=api-cert.pem",
        "api-pkey=api-key.pem",
        "api-key=first-key",
        "api-key second-key",
        "api-allow-anonymous",
        "api-cors-origin=https://app.example.com",
        "api-cors-origin=HTTP://LOCALHOST:3000/",
        "api-rate-limit=120",
        "no-api",
        "rest-default-ttl=600",
        "rest-max-ttl=7200",
        "rest-uri-host=turn.example.com",
        "state-file=state/state.json",
        "pidfile=turnpike.pid",
      ].join("\n"),
    );
    expect(warnings).toEqual([
      "no-api is set: the credential endpoint is off, so api-listening-ip, api-listening-port, api-cert, api-pkey, api-key, api-allow-anonymous, api-cors-origin, api-rate-limit do nothing",
    ]);
    expect(config).toEqual({
      ...DEFAULT_CONFIG,
      apiListeningIp: "::1",
      apiListeningPort: 8443,
      apiCert: join(temp.path(), "api-cert.pem"),
      apiPkey: join(temp.path(), "api-key.pem"),
      apiKeys: ["first-key", "second-key"],
      apiAllowAnonymous: true,
      apiCorsOrigins: ["https://app.example.com", "http://localhost:3000"],
      apiRateLimitPerMinute: 120,
      noApi: true,
      restDefaultTtlSeconds: 600,
      restMaxTtlSeconds: 7200,
      restUriHost: "turn.example.com",
      stateFile: join(temp.path(), "state", "state.json"),
      pidfile: join(temp.path(), "turnpike.pid"),
    });
  });

  it("warns when no-api leaves endpoint options doing nothing, naming them as given", () => {
    expect(loadText("no-api\nrest-default-ttl=60\nrest-uri-host=turn.example.com").warnings).toEqual([]);
    expect(loadText("api-key=k", ["--no-api"]).warnings).toEqual(["no-api is set: the credential endpoint is off, so api-key does nothing"]);
    expect(loadText("", ["--no-api", "--api-key", "k", "--api-listening-port=9000"]).warnings).toEqual([
      "no-api is set: the credential endpoint is off, so api-listening-port, api-key do nothing",
    ]);
    expect(loadText("no-api\napi-key=k", ["--no-api=false"]).warnings).toEqual([]);
  });

  it("takes them from the command line too, the command line's api-key list replacing the file's", () => {
    const { config } = loadText("api-key=file-key\napi-listening-port=9000", [
      "--api-key",
      "cli-key",
      "--api-listening-port=9001",
      "--rest-max-ttl",
      "600",
      "--rest-default-ttl",
      "60",
      "--no-api",
      "--api-cors-origin",
      "https://a.example",
    ]);
    expect(config).toMatchObject({
      apiKeys: ["cli-key"],
      apiListeningPort: 9001,
      restMaxTtlSeconds: 600,
      restDefaultTtlSeconds: 60,
      noApi: true,
      apiCorsOrigins: ["https://a.example"],
    });
  });

  it.each([
    ["api-listening-ip=localhost", 'invalid value for api-listening-ip: "localhost" is not an IP address'],
    ["api-listening-port=0", 'invalid value for api-listening-port: "0" is not a port number (1-65535)'],
    ["api-rate-limit=0", 'invalid value for api-rate-limit: 0 is not a whole number from 1 to 1000000'],
    ["api-rate-limit=1.5", 'invalid value for api-rate-limit: "1.5" is not a whole number from 1 to 1000000'],
    ["rest-default-ttl=0", "invalid value for rest-default-ttl: 0 is not a whole number of seconds from 1 to 604800"],
    ["rest-max-ttl=604801", "invalid value for rest-max-ttl: 604801 is not a whole number of seconds from 1 to 604800"],
    ["api-cors-origin=https://app.example.com/login", 'invalid value for api-cors-origin: "https://app.example.com/login" is not an origin: scheme://host[:port], with no path, query or user'],
    ["rest-uri-host=turn.example.com:3478", 'invalid value for rest-uri-host: "turn.example.com:3478" is not a host name (letters, digits, hyphens, dot-separated) or an IP address'],
    ["no-api=maybe", "invalid value for no-api: a flag is given bare, or with true/false, yes/no, on/off, 1/0"],
    ["api-key", "api-key needs a value (<secret>)"],
    ["api-key=cl\u00e9-secr\u00e8te", "invalid value for api-key: the key has a space or a character outside printable ASCII: an Authorization header cannot carry it"],
    ["api-cors-origin=https://*.example.com", 'invalid value for api-cors-origin: "https://*.example.com" is not an origin: wildcards are not supported; list each origin (api-cors-origin repeats)'],
    ["api-cors-origin=*", 'invalid value for api-cors-origin: "*" is not an origin: wildcards are not supported; list each origin (api-cors-origin repeats)'],
    ["state-file", "state-file needs a value (<file>)"],
  ])("refuses %j at its line", (line, reason) => {
    expect(errorOf(() => loadText(`realm=example.org\n${line}`))).toMatchObject({ line: 2, reason });
  });

  it("allows an ephemeral api-listening-port 0 only through the programmatic API", () => {
    expect(configFromObject({ apiListeningPort: 0 }).apiListeningPort).toBe(0);
    expect(errorOf(() => loadConfig({ args: ["--api-listening-port", "0"] })).message).toMatch(/^command line: invalid value for --api-listening-port/);
  });
});

describe("loadConfig: api-key is a secret", () => {
  const SECRET = "Zebra-7f3c-api";

  it.each([
    ["a control character", `api-key=${SECRET}\u0001`],
    ["text after a quoted key", `api-key="${SECRET}" ${SECRET}`],
    ["a key glued to its name", `api-key:${SECRET}`],
  ])("appears in no error for %s", (_what, line) => {
    const error = errorOf(() => loadText(`realm=example.org\n${line}`));
    expect(error.message).toMatch(/turnserver\.conf:2: /);
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(SECRET);
  });

  it("must travel in an Authorization header: no space, nothing outside printable ASCII, from any source", () => {
    const reason = "the key has a space or a character outside printable ASCII: an Authorization header cannot carry it";
    expect(errorOf(() => loadConfig({ args: ["--api-key", "my api key"] })).message).toBe(`command line: invalid value for --api-key: ${reason}`);
    expect(() => configFromObject({ apiKeys: ["two words"] })).toThrow(reason);
    expect(() => configFromObject({ apiKeys: ["cl\u00e9"] })).toThrow(reason);
    expect(configFromObject({ apiKeys: ["Aa0-._~+/=!#$%&'*^`|"] }).apiKeys).toEqual(["Aa0-._~+/=!#$%&'*^`|"]);
  });

  it("appears in no error from the programmatic API", () => {
    for (const apiKeys of [[`${SECRET}\u0007`], SECRET, [{ key: SECRET }]]) {
      const run = (): Config => configFromObject({ apiKeys } as unknown as Partial<Config>);
      expect(run).toThrow(ConfigError);
      expect(run).not.toThrow(SECRET);
    }
  });
});

describe("loadConfig: the credential endpoint's rules across fields", () => {
  it("refuses rest-default-ttl above rest-max-ttl, at whichever was set last", () => {
    expect(errorOf(() => loadText("rest-max-ttl=600\nrest-default-ttl=3600"))).toMatchObject({
      line: 2,
      key: "rest-default-ttl",
      reason: "rest-default-ttl 3600 is above rest-max-ttl 600",
    });
    expect(errorOf(() => loadText("rest-default-ttl=3600\n\nrest-max-ttl=600"))).toMatchObject({ line: 3, key: "rest-max-ttl" });
    // The default rest-default-ttl (3600) against a smaller maximum: the maximum's line is at fault.
    expect(errorOf(() => loadText("realm=x\nrest-max-ttl=60"))).toMatchObject({ line: 2, reason: "rest-default-ttl 3600 is above rest-max-ttl 60" });
    expect(loadText("rest-max-ttl=600\nrest-default-ttl=600").config).toMatchObject({ restDefaultTtlSeconds: 600, restMaxTtlSeconds: 600 });
  });

  it("refuses api-allow-anonymous on a non-loopback api-listening-ip, telling the operator to configure an api-key", () => {
    const error = errorOf(() => loadText("api-listening-ip=0.0.0.0\n\napi-allow-anonymous"));
    expect(error).toMatchObject({ line: 3, key: "api-allow-anonymous" });
    expect(error.reason).toBe(
      "api-allow-anonymous is refused with api-listening-ip 0.0.0.0, which is not loopback (127.0.0.0/8 or ::1): " +
        "anyone who reaches it could mint TURN credentials; configure an api-key instead",
    );
    expect(errorOf(() => loadText("api-allow-anonymous\napi-listening-ip=192.0.2.10"))).toMatchObject({ line: 2, key: "api-listening-ip" });
    expect(errorOf(() => loadText("api-allow-anonymous", ["--api-listening-ip", "::"])).message).toMatch(/^command line: api-allow-anonymous is refused/);
  });

  it("checks no endpoint option with no-api, which leaves them doing nothing; rest-* still counts", () => {
    const endpoint = "api-listening-ip=0.0.0.0\napi-allow-anonymous\napi-cert=missing-cert.pem\napi-pkey=missing-key.pem";
    expect(errorOf(() => loadText(endpoint)).key).toBe("api-cert");
    const { config, warnings } = loadText(`${endpoint}\nno-api`);
    expect(config).toMatchObject({ noApi: true, apiAllowAnonymous: true, apiCert: join(temp.path(), "missing-cert.pem") });
    expect(warnings).toEqual(["no-api is set: the credential endpoint is off, so api-listening-ip, api-cert, api-pkey, api-allow-anonymous do nothing"]);
    expect(errorOf(() => loadText("no-api\nrest-max-ttl=60\nrest-default-ttl=600")).key).toBe("rest-default-ttl");
  });

  it.each(["127.0.0.1", "127.1.2.3", "127.255.255.255", "::1", "0:0:0:0:0:0:0:1"])("allows api-allow-anonymous on loopback %s", (ip) => {
    expect(loadText(`api-listening-ip=${ip}\napi-allow-anonymous`).config).toMatchObject({ apiListeningIp: ip, apiAllowAnonymous: true });
  });

  it.each(["0.0.0.0", "::", "128.0.0.1", "126.255.255.255", "10.0.0.1", "::2", "::ffff:127.0.0.1", "fe80::1"])("counts %s as not loopback", (ip) => {
    expect(isLoopback(ip)).toBe(false);
    expect(() => configFromObject({ apiListeningIp: ip, apiAllowAnonymous: true })).toThrow(/api-allow-anonymous is refused/);
  });

  it("needs api-cert and api-pkey together, and readable", () => {
    temp.write("api-cert.pem", testPem().cert);
    temp.write("api-key.pem", testPem().key);
    expect(errorOf(() => loadText("api-cert=api-cert.pem"))).toMatchObject({ line: 1, key: "api-cert", reason: "api-cert is set without api-pkey: TLS needs both" });
    expect(errorOf(() => loadText("\napi-pkey=api-key.pem"))).toMatchObject({ line: 2, key: "api-pkey", reason: "api-pkey is set without api-cert: TLS needs both" });
    const missing = errorOf(() => loadText("api-cert=absent.pem\napi-pkey=api-key.pem"));
    expect(missing).toMatchObject({ line: 1, key: "api-cert" });
    expect(missing.reason).toMatch(/^cannot read api-cert file .*absent\.pem: no such file or directory$/);
    expect(errorOf(() => loadText(`api-cert=api-cert.pem\napi-pkey=${temp.path()}`))).toMatchObject({ line: 2, key: "api-pkey", reason: expect.stringMatching(/not a regular file$/) as string });
    // The TURN listeners' cert and pkey stay independent of the endpoint's.
    expect(loadText("api-cert=api-cert.pem\napi-pkey=api-key.pem").config.cert).toBeUndefined();
  });

  it("refuses an api-listening-port that a TURN stream listener binds on the same address", () => {
    expect(errorOf(() => loadText("api-listening-port=3478"))).toMatchObject({
      line: 1,
      key: "api-listening-port",
      reason: "api-listening-port 3478 is also the TCP listening port on 127.0.0.1: give the credential endpoint another port",
    });
    expect(errorOf(() => loadText("api-listening-port=5000\nlistening-port=5000"))).toMatchObject({ line: 2, key: "listening-port" });
    expect(errorOf(() => loadText("listening-ip=0.0.0.0\napi-listening-ip=192.0.2.1\napi-listening-port=3478"))).toMatchObject({ line: 3 });
    temp.write("cert.pem", testPem().cert);
    temp.write("key.pem", testPem().key);
    expect(errorOf(() => loadText("cert=cert.pem\npkey=key.pem\napi-listening-port=5349")).reason).toMatch(/is also the TLS listening port/);
  });

  it("lets the endpoint share a port number with TURN when they cannot collide", () => {
    // UDP only, another address, TLS off, or the endpoint off.
    expect(loadText("api-listening-port=3478\nno-tcp").config.apiListeningPort).toBe(3478);
    expect(loadText("api-listening-port=3478\nlistening-ip=192.0.2.10").config.apiListeningPort).toBe(3478);
    expect(loadText("api-listening-port=5349").config.apiListeningPort).toBe(5349);
    expect(loadText("api-listening-port=3478\nno-api").config.noApi).toBe(true);
  });

  it("refuses a pidfile in a directory that does not exist", () => {
    const error = errorOf(() => loadText("realm=x\npidfile=missing/turnpike.pid"));
    expect(error).toMatchObject({ line: 2, key: "pidfile" });
    expect(error.reason).toMatch(/^cannot write pidfile .*turnpike\.pid: .*missing: no such file or directory$/);
  });

  it("does not require the state file or its directory to exist: start creates them", () => {
    expect(loadText("state-file=not-yet/state.json").config.stateFile).toBe(join(temp.path(), "not-yet", "state.json"));
  });
});

describe("configFromObject: the credential endpoint's fields", () => {
  it("takes them, checked by the same parsers and rules as the file", () => {
    const api: Partial<Config> = {
      apiListeningIp: "::1",
      apiListeningPort: 0,
      apiKeys: ["k1", "k2"],
      apiAllowAnonymous: true,
      apiCorsOrigins: ["https://app.example.com"],
      apiRateLimitPerMinute: 5,
      noApi: false,
      restDefaultTtlSeconds: 60,
      restMaxTtlSeconds: 120,
      restUriHost: "turn.example.com",
      stateFile: "/var/lib/turnpike/state.json",
      pidfile: join(temp.path(), "turnpike.pid"),
    };
    expect(configFromObject(api)).toEqual({ ...DEFAULT_CONFIG, ...api });
  });

  it.each([
    [{ apiRateLimitPerMinute: 0 }, /^invalid value for apiRateLimitPerMinute \(api-rate-limit\): 0 is not a whole number from 1/],
    [{ apiCorsOrigins: ["https://a.example/x"] }, /^invalid value for apiCorsOrigins \(api-cors-origin\): "https:\/\/a\.example\/x" is not an origin/],
    [{ restUriHost: "a..b" }, /^invalid value for restUriHost \(rest-uri-host\): "a\.\.b" is not a host name/],
    [{ restDefaultTtlSeconds: 7200, restMaxTtlSeconds: 3600 }, /^rest-default-ttl 7200 is above rest-max-ttl 3600$/],
    [{ apiKeys: [""] }, /^invalid value for apiKeys \(api-key\): the secret is empty$/],
    [{ apiCert: "/nonexistent/cert.pem" }, /^api-cert is set without api-pkey: TLS needs both$/],
  ] as const)("refuses %j", (partial, reason) => {
    expect(() => configFromObject(partial as Partial<Config>)).toThrow(reason);
  });
});
