import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getAttribute } from "../../src/stun/attributes/registry.js";
import { AttributeType, Method, MessageClass } from "../../src/stun/constants.js";
import { computeFingerprint } from "../../src/stun/fingerprint.js";
import { decodeMessage, encodeMessage } from "../../src/stun/message.js";
import {
  createSendIndicationView,
  scanSendIndication,
  sendIndicationPeerAddress,
  sendIndicationPeerPort,
  type SendPeerCache,
} from "../../src/turn/send-indication-scan.js";
import { attributeEntry, encodeOptions, transportAddress } from "../stun/arbitraries.js";
import { rawMessage } from "../stun/helpers.js";

type Outcome = "drop" | { peer: string | undefined; port: number | undefined; data: string | undefined };

/** What the general decoder makes of the bytes: the reference the scan must agree with. */
function byDecoder(bytes: Buffer): Outcome {
  try {
    const message = decodeMessage(bytes);
    if (message.unknownComprehensionRequired.length > 0) return "drop";
    const data = getAttribute(message, "DATA")?.toString("hex");
    let peer: { address: string; port: number } | undefined;
    try {
      peer = getAttribute(message, "XOR-PEER-ADDRESS");
    } catch {
      peer = undefined; // malformed: the Send is dropped, as when it is absent
    }
    return { peer: peer?.address, port: peer?.port, data };
  } catch {
    return "drop";
  }
}

const view = createSendIndicationView();

function byScan(bytes: Buffer, cache: SendPeerCache): Outcome {
  if (!scanSendIndication(bytes, view)) return "drop";
  const peer = sendIndicationPeerAddress(bytes, view, cache);
  return {
    peer,
    port: peer === undefined ? undefined : sendIndicationPeerPort(bytes, view),
    data: view.dataOffset < 0 ? undefined : bytes.subarray(view.dataOffset, view.dataOffset + view.dataLength).toString("hex"),
  };
}

const SEND_INDICATION = 0x0016;
const transactionId = fc.uint8Array({ minLength: 12, maxLength: 12 });
const peerEntry = transportAddress.map((value) => ({ name: "XOR-PEER-ADDRESS" as const, value }));
const dataEntry = fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ name: "DATA" as const, value: Buffer.from(bytes) }));
const sendAttributes = fc
  .tuple(fc.array(fc.oneof(peerEntry, dataEntry, attributeEntry), { maxLength: 6 }), fc.option(peerEntry), fc.option(dataEntry))
  .map(([others, peer, data]) => [...(peer ? [peer] : []), ...others, ...(data ? [data] : [])]);
const sendIndication = fc
  .tuple(transactionId, sendAttributes, encodeOptions)
  .map(([id, attributes, options]) =>
    encodeMessage({ method: Method.Send, messageClass: MessageClass.Indication, transactionId: id, attributes }, options),
  );

describe("scanSendIndication agrees with decodeMessage on every Send indication", () => {
  // One cache for every run: a stale peer kept from an earlier message would show as a wrong address.
  const cache: SendPeerCache = {};

  it("well-formed ones, with any attributes, integrity and FINGERPRINT", () => {
    let relayable = 0;
    fc.assert(
      fc.property(sendIndication, (bytes) => {
        const expected = byDecoder(bytes);
        expect(byScan(bytes, cache)).toEqual(expected);
        if (expected !== "drop" && expected.peer !== undefined && expected.data !== undefined) relayable++;
      }),
      { numRuns: 1500 },
    );
    expect(relayable).toBeGreaterThan(300);
  });

  it("with bit flips, truncations and random attributes", () => {
    const flipped = fc.tuple(sendIndication, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 3 })).map(([bytes, flips]) => {
      for (const [index, bit] of flips) {
        // The first two bytes stay a Send indication: the dispatcher routes on them.
        const at = 2 + (index % (bytes.length - 2));
        bytes[at] = bytes[at]! ^ (1 << bit);
      }
      return bytes;
    });
    const truncated = fc.tuple(sendIndication, fc.nat(), fc.boolean()).map(([bytes, cut, patch]) => {
      const out = Buffer.from(bytes.subarray(0, 2 + (cut % (bytes.length - 1))));
      if (patch && out.length >= 4) out.writeUInt16BE(Math.max(0, out.length - 20), 2);
      return out;
    });
    const randomAttributes = fc
      .array(
        fc.record({
          type: fc.oneof(fc.constantFrom(...Object.values(AttributeType)), fc.constantFrom(0x0030, 0x7fff, 0x80ff), fc.integer({ min: 0, max: 0xffff })),
          value: fc.uint8Array({ maxLength: 24 }).map((array) => Buffer.from(array)),
        }),
        { maxLength: 6 },
      )
      .map((attributes) => rawMessage({ type: SEND_INDICATION, attributes }));
    fc.assert(
      fc.property(fc.oneof(flipped, truncated, randomAttributes), (bytes) => {
        expect(byScan(bytes, cache)).toEqual(byDecoder(bytes));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("scanSendIndication: cases random bytes rarely reach", () => {
  const peer = { family: "IPv4" as const, address: "203.0.113.5", port: 5002 };
  const send = (extra: Buffer = Buffer.alloc(0)) => {
    const bytes = encodeMessage({
      method: Method.Send,
      messageClass: MessageClass.Indication,
      transactionId: Buffer.alloc(12, 3),
      attributes: [{ name: "XOR-PEER-ADDRESS", value: peer }, { name: "DATA", value: Buffer.from("data") }],
    });
    const out = Buffer.concat([bytes, extra]);
    out.writeUInt16BE(out.length - 20, 2);
    return out;
  };
  const withFingerprintAt = (bytes: Buffer, trailing: Buffer) => {
    // A correct FINGERPRINT (over everything before it, header length covering what follows), then `trailing`.
    const fingerprint = Buffer.alloc(8);
    fingerprint.writeUInt16BE(AttributeType.FINGERPRINT, 0);
    fingerprint.writeUInt16BE(4, 2);
    const out = Buffer.concat([bytes, fingerprint, trailing]);
    out.writeUInt16BE(out.length - 20, 2);
    fingerprint.writeUInt32BE(computeFingerprint(out.subarray(0, bytes.length)), 4);
    fingerprint.copy(out, bytes.length);
    return out;
  };
  const dataAttribute = rawMessage({ type: SEND_INDICATION, attributes: [{ type: AttributeType.DATA, value: Buffer.from("more") }] }).subarray(20);

  it.each([
    ["a correct FINGERPRINT, last", withFingerprintAt(send(), Buffer.alloc(0)), "relay"],
    ["a correct FINGERPRINT with an attribute after it", withFingerprintAt(send(), dataAttribute), "drop"],
    ["an unknown comprehension-required attribute", send(rawMessage({ type: SEND_INDICATION, attributes: [{ type: 0x0030, value: Buffer.alloc(4) }] }).subarray(20)), "drop"],
    ["an unknown comprehension-optional attribute", send(rawMessage({ type: SEND_INDICATION, attributes: [{ type: 0x8030, value: Buffer.alloc(4) }] }).subarray(20)), "relay"],
  ])("%s", (_name, bytes, expected) => {
    const outcome = byScan(bytes, {});
    expect(outcome).toEqual(byDecoder(bytes));
    expect(outcome === "drop" ? "drop" : "relay").toBe(expected);
  });
});

describe("the Send peer cache", () => {
  it("formats a peer once, and gives each message its own peer when they alternate (IPv6 masks differ per message)", () => {
    const cache: SendPeerCache = {};
    const peers = [
      { family: "IPv6" as const, address: "2001:db8::1", port: 5000 },
      { family: "IPv6" as const, address: "2001:db8::2", port: 5001 },
      { family: "IPv4" as const, address: "203.0.113.5", port: 5002 },
    ];
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < 9; i++) {
      const peer = peers[Math.floor(i / 2) % peers.length]!;
      const bytes = encodeMessage({
        method: Method.Send,
        messageClass: MessageClass.Indication,
        transactionId: Buffer.alloc(12, i + 1),
        attributes: [{ name: "XOR-PEER-ADDRESS", value: peer }, { name: "DATA", value: Buffer.from("x") }],
      });
      expect(scanSendIndication(bytes, view)).toBe(true);
      const before = cache.sendPeer;
      seen.push(sendIndicationPeerAddress(bytes, view, cache));
      expect(sendIndicationPeerPort(bytes, view)).toBe(peer.port);
      // The second message to the same peer reuses the text formatted for the first.
      if (i % 2 === 1) expect(cache.sendPeer).toBe(before);
    }
    expect(seen).toEqual(["2001:db8::1", "2001:db8::1", "2001:db8::2", "2001:db8::2", "203.0.113.5", "203.0.113.5", "2001:db8::1", "2001:db8::1", "2001:db8::2"]);
  });
});
