import { describe, expect, it } from "vitest";
import {
  enumParser,
  externalIpParser,
  filePathParser,
  flagParser,
  ipParser,
  logFileParser,
  portParser,
  presetParser,
  secondsParser,
  textParser,
} from "../../src/config/value-parsers.js";

const context = { baseDir: "/etc/turnpike" };

describe("port parser", () => {
  const port = portParser();
  it.each([
    ["1", 1],
    ["3478", 3478],
    ["65535", 65535],
  ])("accepts %s", (text, value) => expect(port.parse(text, context)).toBe(value));

  it.each(["0", "65536", "-1", "3478.5", "0x10", " 3478", "abc", "99999999"])("refuses %j", (text) => {
    expect(() => port.parse(text, context)).toThrow(/is not a port number \(1-65535\)/);
  });

  it("allows 0 (an ephemeral port) only through the programmatic API, and only where asked", () => {
    expect(portParser({ allowZeroInApi: true }).check(0)).toBe(0);
    expect(() => portParser({ allowZeroInApi: true }).parse("0", context)).toThrow(/1-65535/);
    expect(() => port.check(0)).toThrow(/1-65535/);
    expect(() => port.check("3478")).toThrow(/not a port/);
    expect(() => port.check(1.5)).toThrow(/not a port/);
  });
});

describe("ip parser (node:net isIP)", () => {
  it.each(["192.0.2.1", "0.0.0.0", "::", "2001:db8::1", "::ffff:192.0.2.1"])("accepts %s", (text) => {
    expect(ipParser.parse(text, context)).toBe(text);
  });
  it.each(["192.0.2", "192.0.2.256", "example.org", "2001:db8::g", "192.0.2.1:3478", "010.0.0.1"])("refuses %j", (text) => {
    expect(() => ipParser.parse(text, context)).toThrow(/is not an IP address/);
  });
  it("checks programmatic values too", () => {
    expect(() => ipParser.check(42)).toThrow(/not an IP address/);
  });
});

describe("external-ip parser: public or public/private", () => {
  it("reads a lone public address", () => {
    expect(externalIpParser.parse("203.0.113.7", context)).toEqual({ public: "203.0.113.7" });
  });
  it("reads a public/private pair", () => {
    expect(externalIpParser.parse("203.0.113.7/10.0.0.5", context)).toEqual({ public: "203.0.113.7", private: "10.0.0.5" });
    expect(externalIpParser.parse("2001:db8::7/fd00::5", context)).toEqual({ public: "2001:db8::7", private: "fd00::5" });
  });
  it.each([
    ["example.org", /public address "example.org" is not an IP address/],
    ["203.0.113.7/nat", /private address "nat" is not an IP address/],
    ["203.0.113.7/10.0.0.5/1", /is not <public-ip> or <public-ip>\/<private-ip>/],
    ["203.0.113.7/fd00::5", /not of the same address family/],
    ["203.0.113.7/", /private address "" is not an IP address/],
  ])("refuses %j", (text, reason) => {
    expect(() => externalIpParser.parse(text, context)).toThrow(reason);
  });
  it("formats back to the conf syntax", () => {
    expect(externalIpParser.format({ public: "203.0.113.7", private: "10.0.0.5" })).toBe("203.0.113.7/10.0.0.5");
  });
  it("checks programmatic objects", () => {
    expect(externalIpParser.check({ public: "203.0.113.7" })).toEqual({ public: "203.0.113.7" });
    expect(() => externalIpParser.check("203.0.113.7")).toThrow(/is not \{ public, private\? \}/);
    expect(() => externalIpParser.check({ public: "203.0.113.7", private: "x" })).toThrow(/private address/);
  });
});

describe("flag parser", () => {
  it("is on when given bare or with an empty value", () => {
    expect(flagParser.parse(undefined, context)).toBe(true);
    expect(flagParser.parse("", context)).toBe(true);
  });
  it.each(["true", "t", "yes", "y", "on", "1", "TRUE"])("reads %s as on (coturn's boolean words)", (text) => {
    expect(flagParser.parse(text, context)).toBe(true);
  });
  it.each(["false", "f", "no", "n", "off", "0", "Off"])("reads %s as off", (text) => {
    expect(flagParser.parse(text, context)).toBe(false);
  });
  it("refuses any other value", () => {
    expect(() => flagParser.parse("banana", context)).toThrow(/"banana": a flag is given bare, or with true\/false/);
    expect(() => flagParser.check("true")).toThrow(/not a boolean/);
  });
});

describe("preset parser (verbose, no-software-attribute)", () => {
  const verbose = presetParser("debug");
  it("sets its fixed value when given bare", () => {
    expect(verbose.parse(undefined, context)).toBe("debug");
  });
  it("refuses any value", () => {
    expect(() => verbose.parse("2", context)).toThrow(/"2": this flag takes no value/);
  });
});

describe("text parser (realm, software: RFC 8489 §14.9, §14.14)", () => {
  const text = textParser({ maxLength: 127 });
  it("accepts printable text up to 127 characters", () => {
    expect(text.parse("example.org", context)).toBe("example.org");
    expect(text.parse("x".repeat(127), context)).toHaveLength(127);
  });
  it("refuses 128 characters or more, and control characters", () => {
    expect(() => text.parse("x".repeat(128), context)).toThrow(/longer than 127 characters/);
    expect(() => text.parse("a\tb", context)).toThrow(/control characters/);
    expect(() => text.check("")).toThrow(/not a non-empty string/);
  });
});

describe("enum parser (log-level)", () => {
  const level = enumParser(["info", "debug"]);
  it("accepts a listed value and refuses others, naming them", () => {
    expect(level.parse("debug", context)).toBe("debug");
    expect(() => level.parse("loud", context)).toThrow(/"loud" is not one of info, debug/);
    expect(() => level.parse("DEBUG", context)).toThrow(/is not one of/);
  });
});

describe("seconds parser (stream-idle-timeout)", () => {
  const seconds = secondsParser({ min: 1, max: 86_400 });
  it("accepts whole seconds in range", () => {
    expect(seconds.parse("30", context)).toBe(30);
    expect(seconds.parse("86400", context)).toBe(86_400);
  });
  it.each(["0", "86401", "1.5", "-3", "30s", "abc"])("refuses %j", (text) => {
    expect(() => seconds.parse(text, context)).toThrow(/whole number of seconds from 1 to 86400/);
  });
});

describe("file path parser (cert, pkey)", () => {
  it("resolves a relative path against the config file's directory", () => {
    expect(filePathParser.parse("tls/cert.pem", context)).toBe("/etc/turnpike/tls/cert.pem");
  });
  it("keeps an absolute path", () => {
    expect(filePathParser.parse("/srv/cert.pem", context)).toBe("/srv/cert.pem");
  });
  it("refuses an empty programmatic path", () => {
    expect(() => filePathParser.check("")).toThrow(/not a file path/);
  });
});

describe("log-file parser", () => {
  it('reads "stdout" and "-" as standard output', () => {
    expect(logFileParser.parse("stdout", context)).toBe("stdout");
    expect(logFileParser.parse("-", context)).toBe("stdout");
  });
  it("resolves a file path like cert", () => {
    expect(logFileParser.parse("turnpike.log", context)).toBe("/etc/turnpike/turnpike.log");
  });
  it("refuses coturn's syslog rather than writing a file named syslog", () => {
    expect(() => logFileParser.parse("syslog", context)).toThrow(/"syslog" is not supported/);
  });
});
