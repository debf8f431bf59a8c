import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config-error.js";
import { parseConfigText } from "../../src/config/parse-file.js";
import { catchError } from "./catch-error.js";

const parse = (text: string) => parseConfigText(text, "turnserver.conf").map(({ key, value }) => [key, value]);

describe("conf file grammar (coturn's turnserver.conf)", () => {
  it("reads key=value and key value alike", () => {
    expect(parse("listening-port=3478\nmin-port 49152\nmax-port\t65535")).toEqual([
      ["listening-port", "3478"],
      ["min-port", "49152"],
      ["max-port", "65535"],
    ]);
  });

  it("skips any run of blanks and = between key and value, as coturn does", () => {
    expect(parse("realm = example.org\nrealm  ==  other")).toEqual([
      ["realm", "example.org"],
      ["realm", "other"],
    ]);
  });

  it("reads a bare key as a flag with no value", () => {
    expect(parse("no-udp\nverbose   \n")).toEqual([
      ["no-udp", undefined],
      ["verbose", undefined],
    ]);
  });

  it("keeps an explicit empty value apart from a bare flag", () => {
    expect(parse("realm=")).toEqual([["realm", ""]]);
  });

  it("skips whole-line comments, indented comments and blank lines", () => {
    expect(parse("# a comment\n   # indented\n\n   \nrealm=x\n#no-udp")).toEqual([["realm", "x"]]);
  });

  it("strips a trailing comment after whitespace", () => {
    expect(parse("listening-port=3478 # the default\nno-tcp   # off\nrealm x\t# tab")).toEqual([
      ["listening-port", "3478"],
      ["no-tcp", undefined],
      ["realm", "x"],
    ]);
  });

  it("keeps a # that is not after whitespace as part of the value", () => {
    expect(parse("cli-password=ab#cd\nstatic-auth-secret=#north")).toEqual([
      ["cli-password", "ab#cd"],
      ["static-auth-secret", "#north"],
    ]);
  });

  it("unquotes single and double quoted values, keeping spaces and # inside", () => {
    expect(parse(`software="turnpike # edge"\nrealm='example org'\ncipher-list="DEFAULT" # comment`)).toEqual([
      ["software", "turnpike # edge"],
      ["realm", "example org"],
      ["cipher-list", "DEFAULT"],
    ]);
  });

  it("keeps an unquoted value's inner spaces (coturn's database connection strings)", () => {
    expect(parse("psql-userdb=host=db dbname=coturn user=turn")).toEqual([["psql-userdb", "host=db dbname=coturn user=turn"]]);
  });

  it("tolerates a leading -- on keys", () => {
    expect(parse("--listening-port=3478\n--no-udp")).toEqual([
      ["listening-port", "3478"],
      ["no-udp", undefined],
    ]);
  });

  it("handles CRLF line endings and a byte order mark", () => {
    expect(parse("\uFEFFrealm=x\r\nno-udp\r\nmin-port 2000\r\n")).toEqual([
      ["realm", "x"],
      ["no-udp", undefined],
      ["min-port", "2000"],
    ]);
  });

  it("numbers lines from 1, counting comments and blank lines", () => {
    const entries = parseConfigText("# header\n\nrealm=x\r\n\r\nno-udp\n", "turnserver.conf");
    expect(entries.map((entry) => entry.line)).toEqual([3, 5]);
  });

  it("refuses an unterminated quote, with file and line", () => {
    const error = catchError(() => parseConfigText('realm=x\nsoftware="turnpike', "turnserver.conf"));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ file: "turnserver.conf", line: 2, message: expect.stringMatching(/^turnserver\.conf:2: unterminated " quote/) });
  });

  it("refuses text after a closing quote, without echoing it (it may be part of a secret)", () => {
    expect(catchError(() => parseConfigText('realm="a" b', "t.conf"))).toMatchObject({
      message: "t.conf:1: unexpected text after the closing quote of realm",
    });
    expect(catchError(() => parseConfigText('\nstatic-auth-secret="north"south', "t.conf"))).toMatchObject({
      message: "t.conf:2: unexpected text after the closing quote of static-auth-secret",
      line: 2,
    });
  });

  it("allows a comment after a closing quote", () => {
    expect(parse('static-auth-secret="north" # rotated 2026-01')).toEqual([["static-auth-secret", "north"]]);
  });

  it("keeps a secret's inner =, : and spaces when quoted, and =, : unquoted", () => {
    expect(parse('static-auth-secret="a b=c"\nstatic-auth-secret=x=y:z\nuser=alice:pa:ss=word')).toEqual([
      ["static-auth-secret", "a b=c"],
      ["static-auth-secret", "x=y:z"],
      ["user", "alice:pa:ss=word"],
    ]);
  });

  it("refuses a value with no key", () => {
    expect(() => parseConfigText("=3478", "t.conf")).toThrow(/t\.conf:1: option name missing/);
  });
});
