import { isIP, SocketAddress } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp, parseIp } from "../../src/stun/index.js";

// Node formats rinfo.address with libuv's inet_ntop; SocketAddress goes through the same code.
function nodeText(fullForm: string): string {
  return new SocketAddress({ address: fullForm, family: "ipv6" }).address;
}

function fullForm(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex").replace(/(.{4})(?!$)/g, "$1:");
}

describe("parseIp accepts IPv4 and IPv6 text (RFC 4291 §2.2)", () => {
  it.each([
    ["0.0.0.0", "00000000"],
    ["192.0.2.1", "c0000201"],
    ["255.255.255.255", "ffffffff"],
    ["::", "00".repeat(16)],
    ["::1", "00".repeat(15) + "01"],
    ["1::", "0001" + "00".repeat(14)],
    ["2001:DB8::1", "20010db8" + "00".repeat(11) + "01"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["1:2:3:4:5:6:7::", "0001000200030004000500060007" + "0000"],
    ["::2:3:4:5:6:7:8", "0000000200030004000500060007" + "0008"],
    ["::ffff:1.2.3.4", "00".repeat(10) + "ffff01020304"],
    ["::1.2.3.4", "00".repeat(12) + "01020304"],
    ["64:ff9b::192.0.2.33", "0064ff9b" + "00".repeat(8) + "c0000221"],
    ["1:2:3:4:5:6:1.2.3.4", "000100020003000400050006" + "01020304"],
    ["0000:0000:0000:0000:0000:0000:0000:0001", "00".repeat(15) + "01"],
  ])("%s", (text, bytesHex) => {
    const parsed = parseIp(text);
    expect(parsed?.family).toBe(bytesHex.length === 8 ? "IPv4" : "IPv6");
    expect(Buffer.from(parsed?.bytes ?? []).toString("hex")).toBe(bytesHex);
  });
});

describe("parseIp rejects everything else (RFC 4291 §2.2, no zone IDs)", () => {
  it.each([
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.00",
    "1.2.3.1000",
    "1..2.3",
    ".1.2.3",
    "1.2.3.4.",
    "1.2.3.\u0663",
    "1.2.3.-1",
    " 1.2.3.4",
    "1.2.3.4 ",
    "0x1.2.3.4",
    "localhost",
    "fe80::1%eth0",
    "[::1]",
    ":::",
    "1::2::3",
    ":1::",
    "1::2:",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7::8",
    "12345::",
    "g::1",
    "::1.2.3.4:1",
    "1.2.3.4::",
    "::ffff:1.2.3",
    "::ffff:256.1.1.1",
    "1:2:3:4:5:6:7:1.2.3.4",
  ])("%j", (text) => {
    expect(parseIp(text)).toBeUndefined();
  });
});

describe("formatIp gives Node's rinfo.address text (libuv inet_ntop, RFC 5952)", () => {
  it.each([
    ["00".repeat(16), "::"],
    ["00".repeat(15) + "01", "::1"],
    ["00".repeat(15) + "02", "::2"],
    ["00".repeat(12) + "01020304", "::1.2.3.4"],
    ["00".repeat(12) + "00010002", "::0.1.0.2"],
    ["00".repeat(10) + "ffff01020304", "::ffff:1.2.3.4"],
    ["00".repeat(10) + "ffff00000000", "::ffff:0.0.0.0"],
    ["00".repeat(8) + "ffff000000010002", "::ffff:0:1:2"],
    ["20010db8" + "00".repeat(6) + "ffff01020304", "2001:db8::ffff:102:304"],
    ["0001" + "00".repeat(14), "1::"],
    ["00010000000000010000000000000001", "1:0:0:1::1"],
    ["00010000000000010001000000000001", "1::1:1:0:0:1"],
    ["00000000000000000000000100000000", "::1:0:0"],
    ["20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"],
    ["20010DB8ABCDEF000000000000000000".toLowerCase(), "2001:db8:abcd:ef00::"],
  ])("%s -> %s", (bytesHex, text) => {
    const bytes = Buffer.from(bytesHex, "hex");
    expect(formatIp(bytes)).toBe(text);
    expect(nodeText(fullForm(bytes))).toBe(text);
  });

  it("4 bytes -> dotted quad", () => {
    expect(formatIp(Uint8Array.of(10, 0, 255, 1))).toBe("10.0.255.1");
  });

  it("other lengths -> RangeError", () => {
    expect(() => formatIp(new Uint8Array(5))).toThrow(RangeError);
  });
});

// Words biased towards 0 and 0xffff, so that zero runs, ties and IPv4-mapped forms come up often.
const word = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
const ipv6Bytes = fc.array(word, { minLength: 8, maxLength: 8 }).map((words) => {
  const bytes = Buffer.alloc(16);
  words.forEach((w, i) => bytes.writeUInt16BE(w, i * 2));
  return bytes;
});

describe("formatIp / parseIp properties", () => {
  it("formatIp matches Node for any 16 bytes, and parseIp inverts it", () => {
    fc.assert(
      fc.property(ipv6Bytes, (bytes) => {
        const text = formatIp(bytes);
        expect(text).toBe(nodeText(fullForm(bytes)));
        expect(Buffer.from(parseIp(text)?.bytes ?? [])).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it("parseIp inverts formatIp for any 4 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        expect(parseIp(formatIp(bytes))).toEqual({ family: "IPv4", bytes });
      }),
      { numRuns: 200 },
    );
  });

  // Text assembled from plausible and implausible pieces; Node's own parser is the oracle.
  const piece = fc.oneof(
    fc.stringMatching(/^[0-9a-fA-F]{0,5}$/),
    fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 })).map((octets) => octets.join(".")),
    fc.constantFrom("", "0", "00", "01", "1.2.3", "::"),
  );
  const assembled = fc.array(piece, { minLength: 1, maxLength: 10 }).map((pieces) => pieces.join(":"));
  // Valid addresses in several spellings, then maybe one character deleted or inserted.
  const spelled = fc
    .tuple(ipv6Bytes, fc.constantFrom("full", "canonical", "upper", "mixed"))
    .map(([bytes, spelling]) => {
      const canonical = formatIp(bytes);
      if (spelling === "full") return fullForm(bytes);
      if (spelling === "upper") return canonical.toUpperCase();
      if (spelling === "mixed") return `${fullForm(bytes).slice(0, 25)}${formatIp(bytes.subarray(12))}`;
      return canonical;
    });
  const mutated = fc
    .tuple(spelled, fc.nat(), fc.option(fc.constantFrom("", ":", ".", "0", "f", "g", "%", "::")))
    .map(([text, index, insert]) => {
      if (insert === null) return text;
      const at = index % (text.length + 1);
      return insert === "" ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + insert + text.slice(at);
    });
  const candidate = fc.oneof(assembled, mutated);

  it("accepts exactly what Node's net.isIP accepts (zone IDs aside), with the same canonical text", () => {
    fc.assert(
      fc.property(candidate, (text) => {
        const parsed = parseIp(text);
        // A zone ID ("%eth0") names a local interface; it never appears in a STUN address.
        const nodeFamily = text.includes("%") ? 0 : isIP(text);
        expect(parsed === undefined ? 0 : parsed.family === "IPv4" ? 4 : 6).toBe(nodeFamily);
        if (parsed?.family === "IPv6") expect(formatIp(parsed.bytes)).toBe(nodeText(text));
      }),
      { numRuns: 1000 },
    );
  });
});
