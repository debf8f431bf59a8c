import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp, parseIp } from "../../src/stun/address.js";
import { getAttribute } from "../../src/stun/attributes/registry.js";
import { Method, MessageClass } from "../../src/stun/constants.js";
import { decodeMessage } from "../../src/stun/message.js";
import { dataIndicationHeadLength, MAX_DATA_INDICATION_HEAD, writeDataIndicationHead } from "../../src/turn/data-indication.js";

function frame(peer: string, port: number, data: Buffer): Buffer {
  const head = Buffer.alloc(MAX_DATA_INDICATION_HEAD, 0xee);
  const length = writeDataIndicationHead(head, parseIp(peer)!.bytes, port, data.length);
  return Buffer.concat([head.subarray(0, length), data, Buffer.alloc((4 - (data.length & 3)) & 3)]);
}

describe("Data indication framing on the relay path (RFC 8656 §11.3)", () => {
  it.each([
    ["IPv4", "203.0.113.9", 5000, "hello"],
    ["IPv6", "2001:db8::42", 65535, "odd!!"],
    ["IPv6 mapped", "::ffff:198.51.100.1", 1, ""],
  ])("decodes with the codec to the same peer and data (%s)", (_name, peer, port, text) => {
    const message = decodeMessage(frame(peer, port, Buffer.from(text)));
    expect(message.method).toBe(Method.Data);
    expect(message.messageClass).toBe(MessageClass.Indication);
    expect(getAttribute(message, "XOR-PEER-ADDRESS")).toEqual({ family: peer.includes(":") ? "IPv6" : "IPv4", address: peer, port });
    expect(getAttribute(message, "DATA")?.toString()).toBe(text);
  });

  it("gives every indication its own random transaction ID, across refills of the ID pool", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 600; i++) ids.add(decodeMessage(frame("203.0.113.9", 5000, Buffer.from("x"))).transactionId.toString("hex"));
    expect(ids.size).toBe(600);
  });

  it("round-trips any peer, port and payload (property)", () => {
    const peerArb = fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 }));
    fc.assert(
      fc.property(peerArb, fc.integer({ min: 1, max: 65535 }), fc.uint8Array({ maxLength: 300 }), (peerBytes, port, data) => {
        const peer = formatIp(peerBytes);
        const message = decodeMessage(frame(peer, port, Buffer.from(data)));
        expect(getAttribute(message, "XOR-PEER-ADDRESS")?.address).toBe(peer);
        expect(getAttribute(message, "XOR-PEER-ADDRESS")?.port).toBe(port);
        expect(getAttribute(message, "DATA")).toEqual(Buffer.from(data));
      }),
      { numRuns: 300 },
    );
  });
});

describe("Data indication head length", () => {
  it.each([
    ["IPv4", "203.0.113.9", 36],
    ["IPv6", "2001:db8::42", 48],
  ])("is exactly what writeDataIndicationHead writes for %s", (_name, peer, expected) => {
    const bytes = parseIp(peer)!.bytes;
    expect(dataIndicationHeadLength(bytes.length)).toBe(expected);
    expect(writeDataIndicationHead(Buffer.alloc(MAX_DATA_INDICATION_HEAD), bytes, 1, 3)).toBe(expected);
  });
});
