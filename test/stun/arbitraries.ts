import fc from "fast-check";
import {
  formatIp,
  MessageClass,
  type AttributeEntry,
  type AttributeName,
  type AttributeValues,
  type OutgoingMessage,
  type TransportAddress,
} from "../../src/stun/index.js";

const uint8 = fc.integer({ min: 0, max: 0xff });
const uint16 = fc.integer({ min: 0, max: 0xffff });
const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const bytes = (minLength: number, maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength, maxLength }).map((array) => Buffer.from(array));

const word = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
export const transportAddress: fc.Arbitrary<TransportAddress> = fc.oneof(
  fc.tuple(bytes(4, 4), uint16).map(([address, port]) => ({ family: "IPv4" as const, address: formatIp(address), port })),
  fc.tuple(fc.array(word, { minLength: 8, maxLength: 8 }), uint16).map(([words, port]) => {
    const address = Buffer.alloc(16);
    words.forEach((w, i) => address.writeUInt16BE(w, i * 2));
    return { family: "IPv6" as const, address: formatIp(address), port };
  }),
);

// RFC 8489 limits: fewer than 128 characters; USERNAME fewer than 509 bytes.
const text = fc.string({ unit: "binary", maxLength: 127 });
const username = fc.oneof(text, fc.string({ unit: "grapheme-ascii", maxLength: 508 }));
const errorCode = fc.record({ code: fc.integer({ min: 300, max: 699 }), reason: text });
const passwordAlgorithm = fc.record({ algorithm: uint16, parameters: bytes(0, 20) });

type Arbitraries = { readonly [N in AttributeName]: fc.Arbitrary<AttributeValues[N]> };

const VALUES: Arbitraries = {
  "MAPPED-ADDRESS": transportAddress,
  "XOR-MAPPED-ADDRESS": transportAddress,
  "XOR-PEER-ADDRESS": transportAddress,
  "XOR-RELAYED-ADDRESS": transportAddress,
  "ALTERNATE-SERVER": transportAddress,
  USERNAME: username,
  REALM: text,
  NONCE: text,
  SOFTWARE: text,
  "ALTERNATE-DOMAIN": fc.string({ unit: "grapheme-ascii", maxLength: 255 }),
  USERHASH: bytes(32, 32),
  "MESSAGE-INTEGRITY": bytes(20, 20),
  "MESSAGE-INTEGRITY-SHA256": fc.integer({ min: 4, max: 8 }).chain((words) => bytes(words * 4, words * 4)),
  FINGERPRINT: uint32,
  "ERROR-CODE": errorCode,
  "UNKNOWN-ATTRIBUTES": fc.array(uint16, { maxLength: 10 }),
  "PASSWORD-ALGORITHM": passwordAlgorithm,
  "PASSWORD-ALGORITHMS": fc.array(passwordAlgorithm, { maxLength: 4 }),
  LIFETIME: uint32,
  DATA: bytes(0, 300),
  "CHANNEL-NUMBER": uint16,
  "REQUESTED-TRANSPORT": uint8,
  "REQUESTED-ADDRESS-FAMILY": uint8,
  "ADDITIONAL-ADDRESS-FAMILY": uint8,
  "EVEN-PORT": fc.boolean(),
  "RESERVATION-TOKEN": bytes(8, 8),
  "DONT-FRAGMENT": fc.constant(true),
  ICMP: fc.record({ type: uint8, code: uint8, data: uint32 }),
  "ADDRESS-ERROR-CODE": fc.record({ family: uint8, code: errorCode.map((e) => e.code), reason: text }),
  "CONNECTION-ID": uint32,
  PRIORITY: uint32,
  "USE-CANDIDATE": fc.constant(true),
  "ICE-CONTROLLED": uint64,
  "ICE-CONTROLLING": uint64,
};

function entry<N extends AttributeName>(name: N): fc.Arbitrary<AttributeEntry> {
  return VALUES[name].map((value) => ({ name, value }) as AttributeEntry);
}

// The integrity attributes and FINGERPRINT change what counts after them; EncodeOptions adds those.
const TRAILING: readonly AttributeName[] = ["MESSAGE-INTEGRITY", "MESSAGE-INTEGRITY-SHA256", "FINGERPRINT"];
export const ordinaryNames = (Object.keys(VALUES) as AttributeName[]).filter((name) => !TRAILING.includes(name));

export const attributeEntry: fc.Arbitrary<AttributeEntry> = fc.oneof(...ordinaryNames.map((name) => entry(name)));

export const outgoingMessage: fc.Arbitrary<OutgoingMessage> = fc.record({
  method: fc.integer({ min: 0, max: 0xfff }),
  messageClass: fc.constantFrom(
    MessageClass.Request,
    MessageClass.Indication,
    MessageClass.SuccessResponse,
    MessageClass.ErrorResponse,
  ),
  transactionId: fc.uint8Array({ minLength: 12, maxLength: 12 }),
  attributes: fc.array(attributeEntry, { maxLength: 8 }),
});

export const encodeOptions = fc.record({
  integrity: fc.option(fc.record({ key: bytes(0, 40), algorithm: fc.constantFrom("sha1" as const, "sha256" as const) }), {
    nil: undefined,
  }),
  fingerprint: fc.boolean(),
});
