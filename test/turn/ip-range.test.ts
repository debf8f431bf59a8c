import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIpRange, formatIpValue, ipToBigInt, isInRange, parseIpRange } from "../../src/turn/ip-range.js";

describe("ipToBigInt reads addresses as numbers", () => {
  it.each([
    ["0.0.0.0", "IPv4", 0n],
    ["10.0.0.1", "IPv4", 0x0a000001n],
    ["255.255.255.255", "IPv4", 0xffffffffn],
    ["128.0.0.0", "IPv4", 0x80000000n],
    ["::", "IPv6", 0n],
    ["::1", "IPv6", 1n],
    ["2001:db8::1", "IPv6", 0x20010db8_00000000_00000000_00000001n],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "IPv6", (1n << 128n) - 1n],
    ["::ffff:192.0.2.1", "IPv6", 0xffff_c0000201n],
  ] as const)("%s", (text, family, value) => {
    expect(ipToBigInt(text)).toEqual({ family, value });
  });

  it("compares IPv6 numerically: 2001:0db8:0000::1, 2001:DB8::1 and 2001:db8:0:0:0:0:0:1 are one address", () => {
    const forms = ["2001:0db8:0000::1", "2001:DB8::1", "2001:db8:0:0:0:0:0:1", "2001:db8::0.0.0.1"];
    const values = forms.map((text) => ipToBigInt(text)?.value);
    expect(new Set(values)).toEqual(new Set([ipToBigInt("2001:db8::1")?.value]));
  });

  it.each(["", "localhost", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "fe80::1%eth0", "1::2::3", " 1.2.3.4"])(
    "refuses %j",
    (text) => {
      expect(ipToBigInt(text)).toBeUndefined();
    },
  );

  it("formatIpValue(ipToBigInt(x)) is Node's text for x", () => {
    expect(formatIpValue("IPv6", ipToBigInt("2001:0DB8:0000:0000:0000:0000:0000:0001")?.value ?? 0n)).toBe("2001:db8::1");
    expect(formatIpValue("IPv4", 0xc0000201n)).toBe("192.0.2.1");
    expect(formatIpValue("IPv6", 0xffff_7f000001n)).toBe("::ffff:127.0.0.1");
  });
});

describe("parseIpRange accepts coturn's allowed-peer-ip / denied-peer-ip forms and CIDR", () => {
  it.each([
    // single addresses
    ["203.0.113.5", "IPv4", 0xcb007105n, 0xcb007105n],
    ["2001:db8::1", "IPv6", 0x20010db8n << 96n | 1n, 0x20010db8n << 96n | 1n],
    ["  10.0.0.1  ", "IPv4", 0x0a000001n, 0x0a000001n],
    // ranges, spaces around "-" tolerated
    ["10.0.0.1-10.0.0.9", "IPv4", 0x0a000001n, 0x0a000009n],
    ["10.0.0.1 - 10.0.0.9", "IPv4", 0x0a000001n, 0x0a000009n],
    ["10.0.0.5-10.0.0.5", "IPv4", 0x0a000005n, 0x0a000005n],
    ["2001:db8::1-2001:db8::ff", "IPv6", 0x20010db8n << 96n | 1n, 0x20010db8n << 96n | 0xffn],
    // CIDR
    ["10.0.0.0/8", "IPv4", 0x0a000000n, 0x0affffffn],
    ["0.0.0.0/0", "IPv4", 0n, 0xffffffffn],
    ["192.0.2.7/32", "IPv4", 0xc0000207n, 0xc0000207n],
    ["10.0.0.0 / 8", "IPv4", 0x0a000000n, 0x0affffffn],
    ["::/0", "IPv6", 0n, (1n << 128n) - 1n],
    ["::1/128", "IPv6", 1n, 1n],
    ["fc00::/7", "IPv6", 0xfc00n << 112n, (0xfe00n << 112n) - 1n],
    // host bits set are masked off, as coturn does
    ["10.1.2.3/8", "IPv4", 0x0a000000n, 0x0affffffn],
    ["192.168.1.77/24", "IPv4", 0xc0a80100n, 0xc0a801ffn],
    ["2001:db8::dead:beef/32", "IPv6", 0x20010db8n << 96n, (0x20010db9n << 96n) - 1n],
    ["fe80::1/10", "IPv6", 0xfe80n << 112n, (0xfec0n << 112n) - 1n],
  ] as const)("%j", (text, family, first, last) => {
    expect(parseIpRange(text)).toEqual({ family, first, last });
  });

  it("2001:0db8:0000::/32 and 2001:db8::/32 are the same range", () => {
    expect(parseIpRange("2001:0db8:0000::/32")).toEqual(parseIpRange("2001:db8::/32"));
  });
});

describe("parseIpRange refuses malformed text with a one-line reason", () => {
  it.each([
    ["", /empty IP range/],
    ["   ", /empty IP range/],
    ["10.0.0.256", /"10\.0\.0\.256" is not an IPv4 or IPv6 address/],
    ["10.0.0", /is not an IPv4 or IPv6 address/],
    ["010.0.0.1", /is not an IPv4 or IPv6 address/],
    ["garbage", /"garbage" is not an IPv4 or IPv6 address/],
    ["example.com", /is not an IPv4 or IPv6 address/],
    ["2001:db8:::1", /is not an IPv4 or IPv6 address/],
    ["10.0.0.1-::1", /mixes an IPv4 and an IPv6 address/],
    ["::1-10.0.0.1", /mixes an IPv6 and an IPv4 address/],
    ["10.0.0.9-10.0.0.1", /first address is greater than the last/],
    ["2001:db8::2-2001:db8::1", /first address is greater than the last/],
    ["10.0.0.1-", /an address is missing/],
    ["-10.0.0.1", /an address is missing/],
    ["10.0.0.1-10.0.0.2-10.0.0.3", /exactly one "-"/],
    ["10.0.0.0/33", /an IPv4 prefix length is 0 to 32, not 33/],
    ["::/129", /an IPv6 prefix length is 0 to 128, not 129/],
    ["10.0.0.0/-1", /not both/],
    ["10.0.0.0/", /prefix length must be a whole number from 0 to 32/],
    ["10.0.0.0/8.5", /prefix length must be a whole number/],
    ["10.0.0.0/08", /prefix length must be a whole number/],
    ["10.0.0.0/x", /prefix length must be a whole number/],
    ["/8", /an address is missing/],
    ["10.0.0.0/8/8", /exactly one "\/"/],
    ["10.0.0.0/8-10.0.0.9", /not both/],
    ["fe80::1%eth0", /zone ids/],
    ["fe80::%1/64", /zone ids/],
    ["fe80::1%eth0-fe80::2", /zone ids/],
    ["10.0.0.1\n10.0.0.2", /is not an IPv4 or IPv6 address/],
  ])("%j", (text, reason) => {
    expect(() => parseIpRange(text)).toThrow(reason);
  });

  it("every message is one line and quotes the input", () => {
    for (const text of ["a\nb", "10.0.0.1\n/x", "1.2.3.4/\n"]) {
      let message = "";
      try {
        parseIpRange(text);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toBe("");
      expect(message).not.toContain("\n");
      expect(message).toContain(JSON.stringify(text));
    }
  });

  it("random text either parses to an ordered range or throws an Error, never anything else", () => {
    // Random characters almost never make a range, so addresses, prefixes and dash ranges are mixed in.
    const ip = fc.oneof(fc.ipV4(), fc.ipV6());
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom(..."0123456789abcdef:./- %"), maxLength: 40 }),
      ip,
      fc.tuple(ip, fc.integer({ min: 0, max: 130 })).map(([address, prefix]) => `${address}/${prefix}`),
      fc.tuple(ip, ip).map(([first, last]) => `${first}-${last}`),
    );
    let parsed = 0;
    fc.assert(
      fc.property(text, (candidate) => {
        let range: ReturnType<typeof parseIpRange>;
        try {
          range = parseIpRange(candidate);
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
          return;
        }
        parsed++;
        expect(range.first <= range.last).toBe(true);
        expect(range.last < 1n << (range.family === "IPv4" ? 32n : 128n)).toBe(true);
      }),
      { numRuns: 400 },
    );
    // The ordered-range assertions above ran on a good share of the inputs.
    expect(parsed).toBeGreaterThan(80);
  });
});

describe("isInRange and formatIpRange", () => {
  it("isInRange is inclusive at both ends and family-strict", () => {
    const range = parseIpRange("10.0.0.0/8");
    expect(isInRange(range, "IPv4", 0x0a000000n)).toBe(true);
    expect(isInRange(range, "IPv4", 0x0affffffn)).toBe(true);
    expect(isInRange(range, "IPv4", 0x09ffffffn)).toBe(false);
    expect(isInRange(range, "IPv4", 0x0b000000n)).toBe(false);
    // ::a00:1 has the same low bits as 10.0.0.1 but is another family
    expect(isInRange(range, "IPv6", 0x0a000001n)).toBe(false);
  });

  it.each([
    ["203.0.113.5", "203.0.113.5"],
    ["10.1.2.3/8", "10.0.0.0/8"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["10.0.0.1 - 10.0.0.9", "10.0.0.1-10.0.0.9"],
    ["10.0.0.0-10.0.0.255", "10.0.0.0/24"],
    ["2001:0DB8::/32", "2001:db8::/32"],
    ["::ffff:0:0/96", "::ffff:0.0.0.0/96"],
    ["::/0", "::/0"],
    ["2001:db8::1-2001:db8::2", "2001:db8::1-2001:db8::2"],
  ])("formats %j as %j", (text, expected) => {
    expect(formatIpRange(parseIpRange(text))).toBe(expected);
  });

  it("parseIpRange(formatIpRange(r)) is r", () => {
    const v4 = fc.tuple(fc.bigInt({ min: 0n, max: 0xffffffffn }), fc.bigInt({ min: 0n, max: 0xffffffffn }));
    const v6 = fc.tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }));
    const range = fc.oneof(
      v4.map(([a, b]) => ({ family: "IPv4" as const, first: a < b ? a : b, last: a < b ? b : a })),
      v6.map(([a, b]) => ({ family: "IPv6" as const, first: a < b ? a : b, last: a < b ? b : a })),
    );
    fc.assert(
      fc.property(range, (r) => {
        expect(parseIpRange(formatIpRange(r))).toEqual(r);
      }),
    );
  });
});
