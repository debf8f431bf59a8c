// Arbitraries for the whole UDP handler: datagrams a client, a peer or time can throw at the TURN core.
import fc from "fast-check";
import type { AttributeEntry } from "../../src/stun/attributes/registry.js";
import { Method, PasswordAlgorithm } from "../../src/stun/constants.js";
import { hex } from "../stun/helpers.js";

/** RFC 5769 §2.1-§2.4 and RFC 8489 B.1 (errata form), byte for byte: the seeds of the mutations. */
export const VECTORS: readonly Buffer[] = [
  hex(
    "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf",
  ),
  hex(
    "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96",
  ),
  hex(
    "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c",
  ),
  hex(
    "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b900000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578616d706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666",
  ),
  hex(
    "000100902112a44278ad3433c6ad72c029da412e001e00204a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704001500296f624d61744a6f733241414143662f2f3439396b39353464364f4c33346f4c394653547679363473410000000014000b6578616d706c652e6f726700001d000400020000001c0020b5c7bf005b6c52a21c51c5e892f81924136296cb927c43149309278cc6518e65",
  ),
];

/** Client 5-tuples on one UDP link: two users, one of them from two addresses and three 5-tuples. */
export const CLIENTS = [
  { address: "198.51.100.7", port: 40000, username: "alice", password: "wonderland" },
  { address: "198.51.100.7", port: 40001, username: "bob", password: "builder" },
  { address: "203.0.113.9", port: 5000, username: "alice", password: "wonderland" },
  { address: "203.0.113.9", port: 5001, username: "alice", password: "wonderland" },
] as const;

/** Peers the default policy allows (three IPv4, one IPv6) and two it denies (private, listed in denied-peer-ip). */
export const PEERS = [
  { family: "IPv4", address: "8.8.8.8", port: 5000 },
  { family: "IPv4", address: "1.1.1.1", port: 6000 },
  { family: "IPv6", address: "2606:4700::1111", port: 7000 },
  { family: "IPv4", address: "9.9.9.9", port: 8000 },
  { family: "IPv4", address: "10.1.2.3", port: 1 },
  { family: "IPv4", address: "93.184.216.34", port: 80 },
] as const;

const peer = fc.constantFrom(...PEERS);
const bytes = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** Absent most of the time: most Allocates should succeed, so that the other requests meet an allocation. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

const allocateAttributes: fc.Arbitrary<AttributeEntry[]> = fc
  .record({
    transport: fc.oneof({ weight: 9, arbitrary: fc.constant(17) }, { weight: 1, arbitrary: fc.constantFrom(6, undefined) }),
    lifetime: rarely(fc.constantFrom(0, 1, 600, 3600, 0xffffffff)),
    evenPort: rarely(fc.boolean()),
    requestedFamily: rarely(fc.constantFrom(1, 2, 3)),
    additionalFamily: rarely(fc.constantFrom(1, 2)),
    dontFragment: rarely(fc.constant(true)),
    token: rarely(fc.constantFrom(Buffer.from("0102030405060708", "hex"), Buffer.alloc(8, 0xee))),
  })
  .map((r) => {
    const attributes: AttributeEntry[] = [];
    if (r.transport !== undefined) attributes.push({ name: "REQUESTED-TRANSPORT", value: r.transport });
    if (r.lifetime !== undefined) attributes.push({ name: "LIFETIME", value: r.lifetime });
    if (r.evenPort !== undefined) attributes.push({ name: "EVEN-PORT", value: r.evenPort });
    if (r.requestedFamily !== undefined) attributes.push({ name: "REQUESTED-ADDRESS-FAMILY", value: r.requestedFamily });
    if (r.additionalFamily !== undefined) attributes.push({ name: "ADDITIONAL-ADDRESS-FAMILY", value: r.additionalFamily });
    if (r.dontFragment !== undefined) attributes.push({ name: "DONT-FRAGMENT", value: true });
    if (r.token !== undefined) attributes.push({ name: "RESERVATION-TOKEN", value: r.token });
    return attributes;
  });

export type RequestCommand = {
  readonly kind: "request";
  readonly client: number;
  readonly method: number;
  readonly indication: boolean;
  readonly attributes: readonly AttributeEntry[];
  /** none: unauthenticated; sha1 / sha256: signed with a fresh nonce; wrong: signed with a wrong password. */
  readonly signing: "none" | "sha1" | "sha256" | "wrong";
  readonly mutation: Mutation;
};
export type Mutation =
  | { readonly kind: "none" }
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "truncate"; readonly at: number; readonly patchLength: boolean }
  | { readonly kind: "append"; readonly type: number; readonly value: Buffer };
export type RawCommand = { readonly kind: "raw"; readonly client: number; readonly bytes: Buffer };
export type ChannelDataCommand = {
  readonly kind: "channel-data";
  readonly client: number;
  readonly channel: number;
  readonly declaredLength: number | undefined;
  readonly payload: Buffer;
  /** Cut short of its 4-byte header. */
  readonly truncateTo: number | undefined;
};
export type PeerCommand = { readonly kind: "peer"; readonly relay: number; readonly peer: number; readonly payload: Buffer };
export type TickCommand = { readonly kind: "tick"; readonly ms: number };
export type Command = RequestCommand | RawCommand | ChannelDataCommand | PeerCommand | TickCommand;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(), patchLength: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      type: fc.constantFrom(0x000d, 0x0006, 0x0008, 0x001c, 0x8028, 0x0030, 0x80ff, 0x0012),
      value: bytes(40),
    }),
  },
);

const client = fc.integer({ min: 0, max: CLIENTS.length - 1 });
const channelNumber = fc.constantFrom(0x4000, 0x4001, 0x4002, 0x4fff, 0x3fff, 0x5000, 0x7fff);

const methodAndAttributes: fc.Arbitrary<{ method: number; indication: boolean; attributes: readonly AttributeEntry[] }> = fc.oneof(
  allocateAttributes.map((attributes) => ({ method: Method.Allocate, indication: false, attributes })),
  fc
    .option(fc.constantFrom(0, 600, 1200, 0xffffffff), { nil: undefined })
    .map((lifetime) => ({ method: Method.Refresh, indication: false, attributes: lifetime === undefined ? [] : [{ name: "LIFETIME", value: lifetime } as const] })),
  fc.array(peer, { minLength: 0, maxLength: 3 }).map((peers) => ({
    method: Method.CreatePermission,
    indication: false,
    attributes: peers.map((p) => ({ name: "XOR-PEER-ADDRESS", value: p }) as const),
  })),
  fc.tuple(channelNumber, peer).map(([number, p]) => ({
    method: Method.ChannelBind,
    indication: false,
    attributes: [{ name: "CHANNEL-NUMBER", value: number } as const, { name: "XOR-PEER-ADDRESS", value: p } as const],
  })),
  fc.tuple(peer, bytes(64)).map(([p, data]) => ({
    method: Method.Send,
    indication: true,
    attributes: [{ name: "XOR-PEER-ADDRESS", value: p } as const, { name: "DATA", value: data } as const],
  })),
  fc.constant({ method: Method.Binding, indication: false, attributes: [] }),
  fc.constantFrom(Method.Data, Method.Connect, 0x0ff).map((method) => ({ method, indication: false, attributes: [] })),
);

const requestCommand: fc.Arbitrary<RequestCommand> = fc
  .record({ client, call: methodAndAttributes, signing: fc.constantFrom("none", "sha1", "sha1", "sha1", "sha256", "wrong"), mutation })
  .map(({ client: c, call, signing, mutation: m }) => ({ kind: "request" as const, client: c, ...call, signing, mutation: m }));

const mutatedVector: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(...VECTORS), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 3 }), fc.option(fc.nat(), { nil: undefined }))
  .map(([vector, writes, cut]) => {
    const out = Buffer.from(vector);
    for (const [at, value] of writes) out[at % out.length] = value;
    return cut === undefined ? out : out.subarray(0, cut % (out.length + 1));
  });

export const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: requestCommand },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("raw" as const), client, bytes: fc.oneof(bytes(120), mutatedVector) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("channel-data" as const),
      client,
      channel: channelNumber,
      declaredLength: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined, freq: 3 }),
      payload: bytes(48),
      truncateTo: rarely(fc.integer({ min: 1, max: 3 })),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("peer" as const), relay: fc.nat(), peer: fc.integer({ min: 0, max: PEERS.length - 1 }), payload: bytes(48) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.constantFrom(1000, 60_000, 301_000, 601_000, 3_601_000) }) },
);

export const OFFERED_PASSWORD_ALGORITHMS = [
  { algorithm: PasswordAlgorithm.MD5, parameters: Buffer.alloc(0) },
  { algorithm: PasswordAlgorithm.SHA256, parameters: Buffer.alloc(0) },
];

/** Applies a mutation to an encoded message; the header length is patched where the mutation says so. */
export function mutate(message: Buffer, m: Mutation): Buffer {
  switch (m.kind) {
    case "none":
      return message;
    case "flip": {
      const out = Buffer.from(message);
      const at = m.at % out.length;
      out[at] = out[at]! ^ (1 << m.bit);
      return out;
    }
    case "truncate": {
      const out = Buffer.from(message.subarray(0, m.at % (message.length + 1)));
      if (m.patchLength && out.length >= 4) out.writeUInt16BE(Math.max(0, out.length - 20) & 0xfffc, 2);
      return out;
    }
    case "append": {
      const header = Buffer.alloc(4);
      header.writeUInt16BE(m.type, 0);
      header.writeUInt16BE(m.value.length, 2);
      const out = Buffer.concat([message, header, m.value, Buffer.alloc((4 - (m.value.length % 4)) % 4)]);
      out.writeUInt16BE(out.length - 20, 2);
      return out;
    }
  }
}
