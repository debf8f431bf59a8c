import { describe, expect, it } from "vitest";
import { createApiKeyVerifier, readBearerToken } from "../../src/api/api-key-auth.js";
import { expandIpv6, isLoopbackAddress } from "../../src/api/listening-address.js";
import { parseQueryString } from "../../src/api/query-string.js";

describe("loopback addresses (where anonymous minting is allowed)", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.255.0.9", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["128.0.0.1", false],
    ["10.0.0.1", false],
    ["::2", false],
    ["::ffff:10.0.0.1", false],
    ["localhost", false],
    ["", false],
  ])("%s -> %s", (ip, loopback) => {
    expect(isLoopbackAddress(ip)).toBe(loopback);
  });

  it("expands IPv6 addresses to eight groups", () => {
    expect(expandIpv6("2001:db8::1")).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    expect(expandIpv6("::")).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(expandIpv6("::ffff:1.2.3.4")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    expect(expandIpv6("fe80::1%eth0")).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
  });
});

describe("API key verifier", () => {
  const verifier = createApiKeyVerifier(["alpha-key", "bravo-key-longer"]);
  it.each([
    ["alpha-key", 0],
    ["bravo-key-longer", 1],
    ["alpha-kez", undefined],
    ["alpha", undefined],
    ["alpha-key-and-more", undefined],
    ["", undefined],
  ])("%j -> %s", (presented, index) => {
    expect(verifier.match(presented)).toBe(index);
  });

  it.each([
    [undefined, undefined],
    ["Bearer abc", "abc"],
    ["bearer   abc ", "abc"],
    ["Bearer", ""],
    ["Bearer a b", ""],
    ["Basic abc", ""],
  ])("Authorization %j -> token %j", (header, token) => {
    expect(readBearerToken(header)).toBe(token);
  });
});

describe("query string parser", () => {
  it("keeps every value, decodes '+' and percent-encoded UTF-8, marks bytes that are not UTF-8", () => {
    const query = parseQueryString("a=1&a=2&b=x+y%20z&c&d=%C3%A9&e=%FF&%FF=ignored&=empty&&__proto__=p");
    expect(Object.entries(query)).toEqual([
      ["a", ["1", "2"]],
      ["b", ["x y z"]],
      ["c", [""]],
      ["d", ["é"]],
      ["e", [null]],
      ["", ["empty"]],
      ["__proto__", ["p"]],
    ]);
    expect(Object.getPrototypeOf(query)).toBeNull();
  });
});
