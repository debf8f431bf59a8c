import { describe, expect, it } from "vitest";
import { findOption } from "../../src/config/options.js";
import {
  countParser,
  enumParser,
  externalIpParser,
  filePathParser,
  flagParser,
  hostParser,
  ipParser,
  ipRangeParser,
  listeningIpParser,
  logFileParser,
  optionalSecondsParser,
  originParser,
  portParser,
  presetParser,
  redisUrlParser,
  relayIpParser,
  secondsParser,
  secretParser,
  separatorParser,
  staticUserParser,
  textParser,
} from "../../src/config/value-parsers.js";
import { catchError } from "./catch-error.js";

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
  it("refuses as a TURN listening or relay address what would pass and fail only at start: a zone, an IPv4-mapped address (those sockets bind v6-only)", () => {
    for (const parser of [listeningIpParser, relayIpParser]) {
      expect(() => parser.parse("fe80::1%eth0", context)).toThrow('"fe80::1%eth0" has a zone (%...), which turnpike does not support: give an address without one');
      for (const text of ["::ffff:192.0.2.1", "::FFFF:c000:201", "0:0:0:0:0:ffff:192.0.2.1"]) {
        expect(() => parser.parse(text, context)).toThrow(`"${text}" is an IPv4-mapped address: give the IPv4 address 192.0.2.1 itself`);
      }
      expect(parser.parse("2001:db8::1", context)).toBe("2001:db8::1");
    }
    // The API's HTTP server binds dual-stack: a mapped address serves there, as it always has.
    expect(ipParser.parse("::ffff:127.0.0.1", context)).toBe("::ffff:127.0.0.1");
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
    ["fe80::1%eth0", /public address "fe80::1%eth0" has a zone id/],
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
    expect(() => flagParser.parse("banana", context)).toThrow(/^a flag is given bare, or with true\/false/);
    expect(() => flagParser.check("true")).toThrow(/^a string is not a boolean$/);
  });
});

describe("preset parser (verbose, no-software-attribute)", () => {
  const verbose = presetParser("debug", "log-level");
  it("sets its fixed value when given bare", () => {
    expect(verbose.parse(undefined, context)).toBe("debug");
  });
  it("refuses any value", () => {
    expect(() => verbose.parse("2", context)).toThrow(/^this flag takes no value \(the value given is not shown\): it stands for a log-level value; give log-level instead$/);
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

/** The message of the Error `run` throws. */
function reasonOf(run: () => unknown): string {
  const error = catchError(run);
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

describe("count parser (user-quota, total-quota, max-permissions-per-allocation)", () => {
  const count = countParser({ min: 1, max: 1000 });
  it("accepts whole numbers in range", () => {
    expect(count.parse("1", context)).toBe(1);
    expect(count.parse("1000", context)).toBe(1000);
    expect(count.check(7)).toBe(7);
  });
  it.each(["0", "1001", "-1", "1.5", "1e3", " 5", "ten", "0x10"])("refuses %j", (text) => {
    expect(() => count.parse(text, context)).toThrow(/ is not a whole number from 1 to 1000$/);
  });
  it("refuses 0 for max-permissions-per-allocation: a limit of nothing would refuse every permission", () => {
    expect(() => findOption("max-permissions-per-allocation")?.parser.parse("0", context)).toThrow(/^0 is not a whole number from 1 to \d+$/);
  });
  it("reads 0 as no limit for user-quota and total-quota, as coturn does: the largest limit, in the file and through the API", () => {
    expect(findOption("user-quota")?.parser.parse("0", context)).toBe(1_000_000);
    expect(findOption("total-quota")?.parser.parse("0", context)).toBe(10_000_000);
    expect(findOption("total-quota")?.parser.check(0)).toBe(10_000_000);
    expect(findOption("user-quota")?.parser.parse("7", context)).toBe(7);
  });
  it("checks programmatic values", () => {
    expect(() => count.check(0)).toThrow(/0 is not a whole number from 1 to 1000/);
    expect(() => count.check("5")).toThrow(/"5" is not a whole number/);
    expect(() => count.check(2.5)).toThrow(/not a whole number/);
  });
});

describe("optional seconds parser (stale-nonce: bare or =<seconds>)", () => {
  const staleNonce = findOption("stale-nonce");
  it("is a flag, so that a bare key is allowed and the command line takes its value only after =", () => {
    expect(staleNonce?.parser.kind).toBe("flag");
    expect(staleNonce?.parser.placeholder).toBe("[=<seconds>]");
  });
  it("means 600 seconds when given bare, coturn's stale-nonce default", () => {
    expect(staleNonce?.parser.parse(undefined, context)).toBe(600);
    expect(staleNonce?.parser.parse("", context)).toBe(600);
  });
  it("reads stale-nonce=300 as 300 seconds", () => {
    expect(staleNonce?.parser.parse("300", context)).toBe(300);
  });
  it("gives the bare value it was made with", () => {
    const parser = optionalSecondsParser(45, { min: 1, max: 100 });
    expect(parser.parse(undefined, context)).toBe(45);
    expect(parser.parse("99", context)).toBe(99);
    expect(parser.check(12)).toBe(12);
  });
  it.each(["10", "86401", "yes", "true", "5m", "-300"])("refuses %j", (text) => {
    expect(() => staleNonce?.parser.parse(text, context)).toThrow(/is not a whole number of seconds from 30 to 86400$/);
  });
});

describe("static user parser (user: name:password or name:0x<md5 key>)", () => {
  const key = "0123456789abcdefABCDEF0123456789";
  it.each(["alice:north", "alice:pass:with:colons", "alice:with spaces", `alice:0x${key}`])("accepts %j as written", (text) => {
    expect(staticUserParser.parse(text, context)).toBe(text);
    expect(staticUserParser.check(text)).toBe(text);
  });
  it.each([
    ["alice", /no colon found/],
    [":north", /user name is empty/],
    ["alice:", /user "alice" has an empty password/],
    [`alice:0x${key.slice(2)}`, /user "alice": a 0x key must be 32 hex digits \(an MD5 key\), got 30/],
    [`alice:0x${key}00`, /got 34/],
    [`alice:0x${"g".repeat(32)}`, /user "alice": the 0x key has characters that are not hex digits/],
  ])("refuses %j", (text, reason) => {
    expect(() => staticUserParser.parse(text, context)).toThrow(reason);
  });
  it("never puts the password or key into its reason", () => {
    for (const text of [`alice:0x${key.slice(4)}`, `alice:0x${key.slice(0, 31)}z`, ":north-by-northwest", "north-by-northwest"]) {
      const reason = reasonOf(() => staticUserParser.parse(text, context));
      expect(reason).not.toContain(key.slice(4, 20));
      expect(reason).not.toContain("north-by-northwest");
    }
    const object = reasonOf(() => staticUserParser.check({ name: "alice", password: "north-by-northwest" }));
    expect(object).toBe("a object is not a name:password string");
  });
  it("formats a user without the password", () => {
    expect(staticUserParser.format("alice:north")).toBe("alice:<redacted>");
  });
});

describe("secret parser (static-auth-secret)", () => {
  it("accepts any printable text as written", () => {
    expect(secretParser.parse("north", context)).toBe("north");
    expect(secretParser.parse("with spaces, # and = signs", context)).toBe("with spaces, # and = signs");
  });
  it("refuses control characters and empty or non-text values, without echoing them", () => {
    expect(reasonOf(() => secretParser.parse("north\u0001west", context))).toBe("the secret contains control characters");
    expect(reasonOf(() => secretParser.parse("north\twest", context))).toBe("the secret contains control characters");
    expect(reasonOf(() => secretParser.check(""))).toBe("the secret is empty");
    expect(reasonOf(() => secretParser.check(42))).toBe("a number is not a secret string");
    expect(reasonOf(() => secretParser.check(null))).toBe("a null is not a secret string");
  });
  it("formats as <redacted>", () => {
    expect(secretParser.format("north")).toBe("<redacted>");
  });
});

describe("redis URL parser (redis-url)", () => {
  it.each(["redis://127.0.0.1:6379", "redis://redis.internal", "rediss://:s3cret@redis.internal:6380/2", "redis://user:s3cret@[::1]:6379/0", "redis://:s3%25cret%40@h"])("accepts %j as written", (text) => {
    expect(redisUrlParser.parse(text, context)).toBe(text);
  });
  it.each([
    ["http://:s3cret@redis.internal", "the scheme is http: where redis: or rediss: is needed"],
    ["redis://:s3cret@", "not a URL: write redis://host:port (rediss:// for TLS)"],
    ["s3cret", "not a URL: write redis://host:port (rediss:// for TLS)"],
    ["redis://:s3cret@h/db", "the path must be a database number (redis://host:port/2) or nothing"],
    ["redis://:s3cret@h/1?tls=1", "the URL may not have a query or a fragment"],
    ["redis://:s3%zzcret@h", "the user name or password has a % that starts no escape: percent-encode it (%25 for %)"],
  ])("refuses %j without showing its password", (text, reason) => {
    expect(reasonOf(() => redisUrlParser.parse(text, context))).toBe(reason);
    expect(reason).not.toContain("s3cret");
  });
  it("formats without its user name and password", () => {
    expect(redisUrlParser.format("redis://user:s3cret@redis.internal:6379/2")).toBe("redis://redacted@redis.internal:6379/2");
    // A password written where the user name goes is hidden too.
    expect(redisUrlParser.format("rediss://s3cret@redis.internal")).toBe("rediss://redacted@redis.internal");
    expect(redisUrlParser.format("redis://redis.internal:6379")).toBe("redis://redis.internal:6379");
    expect(redisUrlParser.format("redis://[::1]:6379/0")).toBe("redis://[::1]:6379/0");
  });
});

describe("ip range parser (allowed-peer-ip, denied-peer-ip)", () => {
  it.each(["203.0.113.5", "10.0.0.1-10.0.0.9", "10.0.0.1 - 10.0.0.9", "10.0.0.0/8", "10.1.2.3/8", "2001:db8::/32", "2001:db8::1-2001:db8::ff", "::1"])(
    "accepts %j, kept as written",
    (text) => {
      expect(ipRangeParser.parse(text, context)).toBe(text);
    },
  );
  it.each([
    ["10.0.0.0/33", /"10\.0\.0\.0\/33" is not a CIDR: an IPv4 prefix length is 0 to 32, not 33/],
    ["2001:db8::/129", /an IPv6 prefix length is 0 to 128, not 129/],
    ["10.0.0.0/x", /the prefix length must be a whole number from 0 to 32/],
    ["10.0.0.9-10.0.0.1", /"10\.0\.0\.9-10\.0\.0\.1" is not an IP range: the first address is greater than the last/],
    ["10.0.0.1-2001:db8::1", /it mixes an IPv4 and an IPv6 address/],
    ["10.0.0.0/8-10.0.0.9", /use "first-last" or "address\/length", not both/],
    ["10.0.0.1-", /an address is missing/],
    ["fe80::1%eth0", /zone ids/],
    ["example.org", /"example\.org" is not an IPv4 or IPv6 address/],
    ["10.0.0.256", /is not an IPv4 or IPv6 address/],
  ])("refuses %j", (text, reason) => {
    expect(() => ipRangeParser.parse(text, context)).toThrow(reason);
  });
  it("checks programmatic values", () => {
    expect(ipRangeParser.check("10.0.0.0/8")).toBe("10.0.0.0/8");
    expect(() => ipRangeParser.check(10)).toThrow(/10 is not an address range/);
  });
});

describe("separator parser (rest-api-separator)", () => {
  it.each([":", "-", "|", "@", "!", "~", "/"])("accepts %j", (text) => {
    expect(separatorParser.parse(text, context)).toBe(text);
  });
  // More than one byte would push a minted USERNAME past 509 bytes: the endpoint budgets one for it.
  it.each(["::", "ab", " ", "\t", "5", "0", "é", "€", "😀", "\u007f"])("refuses %j", (text) => {
    expect(() => separatorParser.parse(text, context)).toThrow(`${JSON.stringify(text)} is not one printable ASCII character other than a digit or a space`);
  });
  it("refuses an empty value", () => {
    expect(() => separatorParser.parse("", context)).toThrow(/a value is required/);
    expect(() => separatorParser.check("")).toThrow(/"" is not one printable ASCII character other than a digit or a space/);
  });
});

describe("origin parser (api-cors-origin: the Origin header's form, RFC 6454 §6.1)", () => {
  it.each([
    ["https://app.example.com", "https://app.example.com"],
    ["http://localhost:3000", "http://localhost:3000"],
    ["HTTPS://App.Example.COM", "https://app.example.com"],
    ["https://app.example.com:443", "https://app.example.com"],
    ["https://app.example.com/", "https://app.example.com"],
    ["http://[::1]:8080", "http://[::1]:8080"],
    ["http://192.0.2.1:8080", "http://192.0.2.1:8080"],
    ["chrome-extension://abcdefghijklmnop", "chrome-extension://abcdefghijklmnop"],
  ])("accepts %s as %s, as a browser would send it", (text, origin) => {
    expect(originParser.parse(text, context)).toBe(origin);
    expect(originParser.check(text)).toBe(origin);
  });

  it.each([
    "https://app.example.com/path",
    "https://app.example.com/?q=1",
    "https://app.example.com#top",
    "https://user:pw@app.example.com",
    "app.example.com",
    "//app.example.com",
    "https://",
    "https://app.example.com:99999",
    "null",
    "https://app example.com",
  ])("refuses %j", (text) => {
    expect(() => originParser.parse(text, context)).toThrow(/is not an origin: scheme:\/\/host\[:port\], with no path, query or user$/);
  });

  it.each(["*", "https://*.example.com", "https://app.*", "*://app.example.com"])("refuses the wildcard %j, which would match no Origin", (text) => {
    expect(() => originParser.parse(text, context)).toThrow(/is not an origin: wildcards are not supported; list each origin \(api-cors-origin repeats\)$/);
  });

  it("checks programmatic values", () => {
    expect(() => originParser.check(42)).toThrow(/42 is not an origin/);
  });
});

describe("host parser (rest-uri-host: a DNS name or an IP literal)", () => {
  it.each([
    ["turn.example.com", "turn.example.com"],
    ["localhost", "localhost"],
    ["a-b.c0", "a-b.c0"],
    ["203.0.113.7", "203.0.113.7"],
    ["2001:db8::7", "2001:db8::7"],
    ["[2001:db8::7]", "2001:db8::7"],
    [`${"a".repeat(63)}.example`, `${"a".repeat(63)}.example`],
  ])("accepts %s", (text, host) => {
    expect(hostParser.parse(text, context)).toBe(host);
  });

  it.each([
    "turn.example.com.",
    "-turn.example.com",
    "turn-.example.com",
    "turn_1.example.com",
    "turn..example.com",
    "turn.example.com:3478",
    "https://turn.example.com",
    "203.0.113",
    "203.0.113.256",
    "[203.0.113.7]",
    "fe80::1%eth0",
    `${"a".repeat(64)}.example`,
    `${"abcdefghi.".repeat(26)}com`,
    "tür.example",
  ])("refuses %j", (text) => {
    expect(() => hostParser.parse(text, context)).toThrow(/is not a host name \(letters, digits, hyphens, dot-separated\) or an IP address$/);
  });

  it("checks programmatic values", () => {
    expect(hostParser.check("turn.example.com")).toBe("turn.example.com");
    expect(() => hostParser.check(null)).toThrow(/null is not a host name/);
  });
});
