import { describe, expect, it } from "vitest";
import { parseArgs } from "../../src/config/parse-args.js";
import { catchError } from "./catch-error.js";

const parse = (...args: string[]) => parseArgs(args).map(({ key, value }) => [key, value]);

describe("command-line options", () => {
  it("reads --key value and --key=value", () => {
    expect(parse("--listening-port", "3478", "--realm=example.org")).toEqual([
      ["listening-port", "3478"],
      ["realm", "example.org"],
    ]);
  });

  it("reads a bare --flag without taking the next argument", () => {
    expect(parse("--no-udp", "--verbose", "--min-port", "2000")).toEqual([
      ["no-udp", undefined],
      ["verbose", undefined],
      ["min-port", "2000"],
    ]);
  });

  it("passes --flag=value on, for the flag's parser to judge", () => {
    expect(parse("--no-udp=false")).toEqual([["no-udp", "false"]]);
  });

  it('takes "-" as a value (log-file -) but not a following --option', () => {
    expect(parse("--log-file", "-")).toEqual([["log-file", "-"]]);
    expect(() => parseArgs(["--realm", "--no-udp"])).toThrow("command line: --realm needs a value (<text>)");
    expect(() => parseArgs(["--realm"])).toThrow("--realm needs a value (<text>)");
  });

  it("knows coturn's options' arity, so an ignored one does not swallow the next option", () => {
    expect(parse("--no-dtls", "--cli-password", "north", "--prometheus", "--relay-threads", "4", "--realm", "x")).toEqual([
      ["no-dtls", undefined],
      ["cli-password", "north"],
      ["prometheus", undefined],
      ["relay-threads", "4"],
      ["realm", "x"],
    ]);
  });

  it("gives the TURN rows their arity: user and static-auth-secret take a value, lt-cred-mech does not", () => {
    expect(parse("--lt-cred-mech", "--user", "alice:north", "--use-auth-secret", "--static-auth-secret", "-south", "--allow-loopback-peers")).toEqual([
      ["lt-cred-mech", undefined],
      ["user", "alice:north"],
      ["use-auth-secret", undefined],
      ["static-auth-secret", "-south"],
      ["allow-loopback-peers", undefined],
    ]);
    // A value starting with "--" can only be given after "=".
    expect(parse("--static-auth-secret=--south")).toEqual([["static-auth-secret", "--south"]]);
  });

  it("takes stale-nonce's optional value only after =, as coturn's getopt does", () => {
    expect(parse("--stale-nonce", "--realm", "x", "--stale-nonce=300")).toEqual([
      ["stale-nonce", undefined],
      ["realm", "x"],
      ["stale-nonce", "300"],
    ]);
    expect(() => parseArgs(["--stale-nonce", "300"])).toThrow('command line: unexpected argument after --stale-nonce, which takes its value only after "="');
  });

  it("refuses unknown options with a suggestion in --flag spelling", () => {
    expect(() => parseArgs(["--listenig-port", "3478"])).toThrow('command line: unknown option "--listenig-port" (did you mean "--listening-port"?)');
    expect(() => parseArgs(["--relay-ip=1.2.3.4", "--fingerprnt"])).toThrow('unknown option "--fingerprnt" (did you mean "--fingerprint"?)');
  });

  it("shows none of a value glued to an option name by a character no name has", () => {
    expect(catchError(() => parseArgs(["--static-auth-secret:north"]))).toMatchObject({
      message: 'command line: unknown option "--static-auth-secret:…" (did you mean "--static-auth-secret"?)',
      key: "static-auth-secret:…",
    });
    expect(catchError(() => parseArgs(["--user/alice:north"]))).toMatchObject({
      message: 'command line: unknown option "--user/…" (did you mean "--user"?)',
      key: "user/…",
    });
  });

  it("shows none of a value glued straight to an option name, in name characters", () => {
    for (const [arg, shown, suggested] of [
      ["--static-auth-secretNorthWind42", "--static-auth-secret…", "--static-auth-secret"],
      ["--static-auth-secretnorth=x", "--static-auth-secret…", "--static-auth-secret"],
      ["--api-keyk3y-0123", "--api-key…", "--api-key"],
      ["--usermallory", "--user…", "--user"],
      ["-static-auth-secretNorthWind42", "-static-auth-secret…", "--static-auth-secret"],
      // Base64 has characters no name has: the known name is still all that shows, however short the tail.
      ["--static-auth-secretNorthWind42+x/y", "--static-auth-secret…", "--static-auth-secret"],
      ["--static-auth-secretNo+rth", "--static-auth-secret…", "--static-auth-secret"],
    ]) {
      const error = catchError(() => parseArgs([arg!]));
      expect(error, arg).toMatchObject({ message: `command line: unknown option "${shown}" (did you mean "${suggested}"?)` });
      expect((error as Error).message).not.toMatch(/North|north|k3y|mallory/);
    }
    // A few letters past a name are a typo, shown as typed.
    expect(() => parseArgs(["--listening-ips"])).toThrow('unknown option "--listening-ips" (did you mean "--listening-ip"?)');
  });

  it("refuses single-dash spellings, suggesting the long one", () => {
    expect(() => parseArgs(["-realm", "x"])).toThrow('unknown option "-realm" (did you mean "--realm"?)');
    expect(() => parseArgs(["-p", "3478"])).toThrow('unknown option "-p"');
  });

  it("refuses stray arguments", () => {
    expect(() => parseArgs(["--no-udp", "yes"])).toThrow("command line: unexpected argument after --no-udp, which takes no value, not shown");
    expect(() => parseArgs(["--"])).toThrow('unexpected argument "--"');
  });

  // Stray arguments are often secrets: a value given twice, or an option written without its dashes.
  it.each([
    [["static-auth-secret=Zebra-secret"], 'command line: unexpected argument before the first option, not shown as it may be a secret; options are --key value, --key=value or a bare --flag (did you mean "--static-auth-secret=…"?)'],
    [["--static-auth-secret", "S1", "Zebra-secret"], "command line: unexpected argument after --static-auth-secret and its value, not shown as it may be a secret; options are --key value, --key=value or a bare --flag"],
    [["--realm=x", "Zebra-secret"], "command line: unexpected argument after --realm=…, not shown as it may be a secret; options are --key value, --key=value or a bare --flag"],
    [["--use-auth-secret", "Zebra-secret"], "command line: unexpected argument after --use-auth-secret, which takes no value, not shown as it may be a secret; options are --key value, --key=value or a bare --flag"],
    [["--static-auth-secret", "S1", "-Zebra-secret"], "command line: unexpected argument after --static-auth-secret and its value, not shown as it may be a secret; options are --key value, --key=value or a bare --flag"],
    [["Zebra-secret:x"], "command line: unexpected argument before the first option, not shown as it may be a secret; options are --key value, --key=value or a bare --flag"],
  ])("never shows a stray argument: %j", (args, message) => {
    const error = catchError(() => parseArgs(args));
    expect(error).toMatchObject({ message });
    expect(JSON.stringify(error)).not.toContain("Zebra");
  });
});
