// The hostile inputs of the reference list that are single messages, as tables: the list's line, then the bytes.
import { randomBytes } from "node:crypto";
import { AttributeType, MAGIC_COOKIE, Method, MessageClass } from "../../../src/stun/constants.js";
import { encodeMessageType } from "../../../src/stun/header.js";
import {
  appendAttributes,
  appendFingerprint,
  appendIntegrity,
  hex,
  message,
  REQUESTED_TRANSPORT_UDP,
  signedRequest,
  text,
  Type,
  withLength,
  xorAddressValue,
  type RawAttribute,
  type SigningState,
} from "./wire.js";

/** RFC 5769 §2.1: USERNAME padded with spaces, short-term MESSAGE-INTEGRITY, FINGERPRINT. */
export const RFC5769_REQUEST = hex(
  "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf",
);
/** RFC 5769 §2.2 and §2.3: sample success responses (IPv4, IPv6). */
export const RFC5769_RESPONSE_IPV4 = hex(
  "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96",
);
export const RFC5769_RESPONSE_IPV6 = hex(
  "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c",
);
/** RFC 5769 §2.4: long-term credentials for another realm and user. */
export const RFC5769_LONG_TERM_REQUEST = hex(
  "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b900000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578616d706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666",
);

const SOFTWARE = text(AttributeType.SOFTWARE, "hostile"); // 7 bytes and one byte of padding
const UNKNOWN_REQUIRED: RawAttribute = { type: 0x0030, value: hex("00000000") };
const UNKNOWN_REQUIRED_2: RawAttribute = { type: 0x7fff, value: Buffer.alloc(0) };
const UNKNOWN_OPTIONAL: RawAttribute = { type: 0x80ff, value: hex("00000000") };
const OVERRUN_0XFFFF: RawAttribute = { type: AttributeType.SOFTWARE, value: hex("41424344"), declaredLength: 0xffff };
const OVERRUN_PADDING: RawAttribute = { type: AttributeType.SOFTWARE, value: hex("41424344"), declaredLength: 5 };
const OVERRUN_FAR: RawAttribute = { type: AttributeType.USERNAME, value: hex("41424344"), declaredLength: 64 };
const MI_DUMMY: RawAttribute = { type: AttributeType.MESSAGE_INTEGRITY, value: Buffer.alloc(20, 0xaa) };
const MI_SHA256_DUMMY: RawAttribute = { type: AttributeType.MESSAGE_INTEGRITY_SHA256, value: Buffer.alloc(32, 0xbb) };
const lifetime = (seconds: number): RawAttribute => {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(seconds, 0);
  return { type: AttributeType.LIFETIME, value };
};

export const stunType = (method: number, messageClass: MessageClass): number => encodeMessageType(method, messageClass);

const binding = (): Buffer => message(Type.BindingRequest, [SOFTWARE]);
const patched = (bytes: Buffer, patch: (b: Buffer) => void): Buffer => {
  const copy = Buffer.from(bytes);
  patch(copy);
  return copy;
};

/** A datagram as large as UDP over IPv4 carries (65,507 bytes) whose header declares the largest STUN body: truncated by definition. */
function truncatedGiant(): Buffer {
  const bytes = Buffer.alloc(65507, 0x41);
  bytes.writeUInt16BE(Type.BindingRequest, 0);
  bytes.writeUInt16BE(65532, 2);
  bytes.writeUInt32BE(MAGIC_COOKIE, 4);
  randomBytes(12).copy(bytes, 8);
  bytes.writeUInt16BE(AttributeType.SOFTWARE, 20);
  bytes.writeUInt16BE(65528, 22);
  return bytes;
}

/** The largest STUN message (RFC 8489 §5: a body of 65532 bytes): a Binding request with one comprehension-optional attribute. */
export function giantBinding(): Buffer {
  return message(Type.BindingRequest, [{ type: 0x80ff, value: Buffer.alloc(65528, 0x41) }]);
}

export type DropCase = readonly [line: string, build: () => Buffer[]];

/** Datagrams the server must not answer (and must survive). */
export const UDP_DROPS: readonly DropCase[] = [
  ["0..19-byte datagrams", () => Array.from({ length: 20 }, (_, n) => binding().subarray(0, n))],
  ["a 20-byte header whose length field is non-zero", () => [4, 8, 0xfffc].map((n) => withLength(message(Type.BindingRequest), n))],
  [
    "first two bits not 00 (and not a ChannelData first byte 0x40-0x4F)",
    () => [0x80, 0xc0, 0x50, 0x7f, 0xff].map((first) => patched(binding(), (b) => (b[0] = first))),
  ],
  ["wrong magic cookie", () => [0x2112a443, 0, 0x42a41221].map((cookie) => patched(binding(), (b) => b.writeUInt32BE(cookie, 4)))],
  [
    "length not a multiple of 4",
    () => [1, 2, 3].map((extra) => {
      const b = Buffer.concat([binding(), Buffer.alloc(extra)]);
      return withLength(b, b.length - 20);
    }),
  ],
  [
    "length not equal to the bytes that follow",
    () => {
      const b = binding();
      return [withLength(b, b.length - 20 - 4), withLength(b, b.length - 20 + 4), withLength(b, 0), Buffer.concat([b, Buffer.alloc(4)])];
    },
  ],
  [
    "a datagram larger than the read buffer (never parse a truncated message)",
    () => {
      const whole = message(Type.BindingRequest, [text(AttributeType.SOFTWARE, "x".repeat(100)), { type: 0x80ff, value: Buffer.alloc(1900) }]);
      return [truncatedGiant(), whole.subarray(0, 1400)];
    },
  ],
  [
    "1-3 stray bytes after the last attribute (RFC 8489 §6.3: the length is then not a multiple of 4, or not the datagram's)",
    () =>
      [1, 2, 3].flatMap((n) => {
        const stray = Buffer.concat([binding(), Buffer.alloc(n, 0x41)]);
        return [withLength(stray, stray.length - 20), stray];
      }),
  ],
  [
    "attribute length 0xFFFF or an attribute running past the end, not in a request",
    () =>
      [Type.BindingIndication, Type.BindingSuccess, Type.BindingError, Type.SendIndication].flatMap((type) =>
        [OVERRUN_0XFFFF, OVERRUN_PADDING, OVERRUN_FAR].map((overrun) => message(type, [SOFTWARE, overrun])),
      ),
  ],
  [
    "FINGERPRINT not last",
    () => [appendAttributes(appendFingerprint(binding()), [SOFTWARE]), appendAttributes(appendFingerprint(binding()), [UNKNOWN_OPTIONAL])],
  ],
  [
    "wrong CRC in FINGERPRINT",
    () => [
      patched(appendFingerprint(binding()), (b) => (b[b.length - 1] = b[b.length - 1]! ^ 0x01)),
      // RFC 5769's negative test: byte 27 of the §2.1 request set to 23.
      patched(RFC5769_REQUEST, (b) => (b[27] = 23)),
      appendAttributes(binding(), [{ type: AttributeType.FINGERPRINT, value: hex("0000000000000000") }]),
    ],
  ],
  [
    "unsolicited success/error responses",
    () => [
      message(Type.BindingSuccess, [{ type: AttributeType.XOR_MAPPED_ADDRESS, value: xorAddressValue("192.0.2.1", 32853) }]),
      message(Type.BindingError, [{ type: AttributeType.ERROR_CODE, value: hex("00000401") }]),
      message(Type.AllocateSuccess, [{ type: AttributeType.LIFETIME, value: hex("00000258") }]),
      message(Type.AllocateError, [{ type: AttributeType.ERROR_CODE, value: hex("00000401") }]),
      RFC5769_RESPONSE_IPV4,
      RFC5769_RESPONSE_IPV6,
    ],
  ],
  [
    "unknown methods",
    () =>
      [0x002, Method.Connect, Method.ConnectionBind, Method.ConnectionAttempt, 0x0ff, 0xfff].flatMap((method) => [
        message(stunType(method, MessageClass.Request), [SOFTWARE]),
        message(stunType(method, MessageClass.Indication), [SOFTWARE]),
      ]),
  ],
  [
    "Binding indications",
    () => [message(Type.BindingIndication), message(Type.BindingIndication, [SOFTWARE]), appendFingerprint(message(Type.BindingIndication))],
  ],
  [
    "Allocate sent as an indication (and the other requests as indications, a Data indication from a client)",
    () => [
      message(Type.AllocateIndication, [REQUESTED_TRANSPORT_UDP]),
      message(Type.RefreshIndication, [lifetime(600)]),
      message(Type.CreatePermissionIndication, [{ type: AttributeType.XOR_PEER_ADDRESS, value: xorAddressValue("127.0.0.1", 9) }]),
      message(Type.ChannelBindIndication, [{ type: AttributeType.CHANNEL_NUMBER, value: hex("40000000") }]),
      message(Type.DataIndication, [{ type: AttributeType.DATA, value: Buffer.from("x") }]),
    ],
  ],
  [
    "unknown comprehension-required attribute in an indication",
    () => [message(Type.BindingIndication, [UNKNOWN_REQUIRED]), message(Type.SendIndication, [UNKNOWN_REQUIRED])],
  ],
];

export interface Expected {
  /** "success", or the ERROR-CODE of the error response; several when the list allows either. */
  readonly outcome: readonly ("success" | number)[];
  readonly unknownAttributes?: readonly number[];
  readonly fingerprint?: boolean;
  readonly lifetime?: number;
  /** The response is signed with MESSAGE-INTEGRITY-SHA256. */
  readonly sha256?: boolean;
  /** The response carries MESSAGE-INTEGRITY (or -SHA256): the request authenticated first. */
  readonly signed?: boolean;
}

export type AnsweredCase = readonly [line: string, build: () => Buffer, expected: Expected];

const bad = { outcome: [400] } as const;
const ok = { outcome: ["success"] } as const;

/** Requests that need no credentials (Binding, or an Allocate refused before authentication). */
export const ANSWERED: readonly AnsweredCase[] = [
  ["attribute length 0xFFFF in a request -> 400 (Binding)", () => message(Type.BindingRequest, [SOFTWARE, OVERRUN_0XFFFF]), bad],
  ["attribute length 0xFFFF in a request -> 400 (Allocate)", () => message(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP, OVERRUN_0XFFFF]), bad],
  ["an attribute running past the end of a request -> 400 (into the padding)", () => message(Type.BindingRequest, [OVERRUN_PADDING]), bad],
  ["an attribute running past the end of a request -> 400 (far)", () => message(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP, OVERRUN_FAR]), bad],
  [
    "odd-length attributes with non-zero padding -> parse (SOFTWARE padded with 0xFF)",
    () => message(Type.BindingRequest, [text(AttributeType.SOFTWARE, "abc", hex("ff")), text(AttributeType.USERNAME, "evtj:h6vY", hex("ffffff"))]),
    ok,
  ],
  ["odd-length attributes with non-zero padding -> parse (RFC 5769 §2.1 sample request)", () => RFC5769_REQUEST, { outcome: ["success"], fingerprint: true }],
  [
    "unknown comprehension-required attribute (0x0030) in a request -> 420 with UNKNOWN-ATTRIBUTES (Binding)",
    () => message(Type.BindingRequest, [UNKNOWN_REQUIRED]),
    { outcome: [420], unknownAttributes: [0x0030] },
  ],
  [
    "unknown comprehension-required attributes in an unsigned Allocate -> 401: authentication comes first (RFC 8489 §6.3)",
    () => message(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP, UNKNOWN_REQUIRED, UNKNOWN_REQUIRED_2, UNKNOWN_REQUIRED]),
    { outcome: [401], signed: false },
  ],
  ["unknown comprehension-optional (0x80FF) -> ignored (Binding)", () => message(Type.BindingRequest, [UNKNOWN_OPTIONAL]), ok],
  ["unknown comprehension-optional (0x80FF) -> ignored (Allocate: 401, not 420)", () => message(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP, UNKNOWN_OPTIONAL]), { outcome: [401] }],
  [
    "a trailing MESSAGE-INTEGRITY-SHA256 after MESSAGE-INTEGRITY is not a 420 (Binding)",
    () => message(Type.BindingRequest, [MI_DUMMY, MI_SHA256_DUMMY]),
    ok,
  ],
  [
    "attributes appended after MESSAGE-INTEGRITY -> no effect (an unknown comprehension-required one is not a 420)",
    () => message(Type.BindingRequest, [MI_DUMMY, UNKNOWN_REQUIRED]),
    ok,
  ],
  [
    "USERNAME of 509+ bytes, REALM/NONCE over 128 characters, without MESSAGE-INTEGRITY -> 401",
    () =>
      message(Type.AllocateRequest, [
        REQUESTED_TRANSPORT_UDP,
        text(AttributeType.USERNAME, "alice".padEnd(600, "x")),
        text(AttributeType.REALM, "example.org".padEnd(200, "x")),
        text(AttributeType.NONCE, "n".repeat(200)),
      ]),
    { outcome: [401] },
  ],
  ["SOFTWARE of 127 characters -> parse (Binding)", () => message(Type.BindingRequest, [text(AttributeType.SOFTWARE, "s".repeat(127))]), ok],
  ["SOFTWARE of 128 characters (RFC 8489 §14.14: fewer than 128) -> 400 (Binding)", () => message(Type.BindingRequest, [text(AttributeType.SOFTWARE, "s".repeat(128))]), bad],
  ["SOFTWARE of invalid UTF-8 -> 400 (Binding)", () => message(Type.BindingRequest, [text(AttributeType.SOFTWARE, Buffer.from("soft\xff", "latin1"))]), bad],
  [
    "odd-length attributes -> parse (RFC 5769 §2.4: USERNAME of 18 bytes, REALM of 11; a Binding request signed for another realm is answered: Binding needs no credentials)",
    () => RFC5769_LONG_TERM_REQUEST,
    ok,
  ],
];

export type AuthenticatedCase = readonly [line: string, build: (signing: SigningState, peer: { address: string; port: number }) => Buffer, expected: Expected];

const ff = (n: number): Buffer => Buffer.alloc(n, 0xff);
const peerAttribute = (value: Buffer): RawAttribute => ({ type: AttributeType.XOR_PEER_ADDRESS, value });
const channel = (number: number): RawAttribute => ({ type: AttributeType.CHANNEL_NUMBER, value: Buffer.from([number >> 8, number & 0xff, 0, 0]) });

/** RFC 8656 §18.3 / RFC 8489 §14.2: malformed XOR-PEER-ADDRESS values, as the list names them. */
export const MALFORMED_PEER_ADDRESSES: readonly (readonly [string, Buffer])[] = [
  ["value length 0", Buffer.alloc(0)],
  ["value length 1", hex("00")],
  ["value length 4", hex("0001a147")],
  ["value length 7", hex("0001a147e112a6")],
  ["value length 19", hex("0002a1470113a9faa5d3f179bc25f4b5bed2b9")],
  ["value length 21", hex("0002a1470113a9faa5d3f179bc25f4b5bed2b9d900")],
  ["family 0x00", hex("0000a147e112a643")],
  ["family 0x03", hex("0003a147e112a643")],
  ["an IPv4 family with a 20-byte value", hex("0001a1470113a9faa5d3f179bc25f4b5bed2b9d9")],
];

/** Requests signed with alice's long-term key on a 5-tuple that holds her allocation. */
export const AUTHENTICATED: readonly AuthenticatedCase[] = [
  [
    "odd-length attributes with non-zero padding -> parse; padding values are ignored (USERNAME, REALM, NONCE padded with 0xFF, signed over them)",
    (s) =>
      signedRequest(Type.RefreshRequest, [], s, {
        username: [text(AttributeType.USERNAME, s.username, ff((4 - (Buffer.byteLength(s.username) % 4)) % 4))],
        realm: [text(AttributeType.REALM, s.realm, ff((4 - (Buffer.byteLength(s.realm) % 4)) % 4))],
        nonce: [text(AttributeType.NONCE, s.nonce, ff((4 - (Buffer.byteLength(s.nonce) % 4)) % 4))],
      }),
    { outcome: ["success"], lifetime: 600 },
  ],
  [
    "unknown comprehension-required attributes in a signed request -> 420 listing each once, signed (RFC 8489 §6.3: checked after authentication)",
    (s) => signedRequest(Type.RefreshRequest, [UNKNOWN_REQUIRED, UNKNOWN_REQUIRED_2, UNKNOWN_REQUIRED], s),
    { outcome: [420], unknownAttributes: [0x0030, 0x7fff], signed: true },
  ],
  ...MALFORMED_PEER_ADDRESSES.flatMap(([name, value]): AuthenticatedCase[] => [
    [`XOR-PEER-ADDRESS with ${name} -> 400 (CreatePermission)`, (s) => signedRequest(Type.CreatePermissionRequest, [peerAttribute(value)], s), bad],
    [`XOR-PEER-ADDRESS with ${name} -> 400 (ChannelBind)`, (s) => signedRequest(Type.ChannelBindRequest, [channel(0x4abc), peerAttribute(value)], s), bad],
  ]),
  [
    "attributes appended after MESSAGE-INTEGRITY (LIFETIME 0, the only one) -> no effect: the allocation is refreshed for the default, not deleted",
    (s) => appendAttributes(signedRequest(Type.RefreshRequest, [], s), [lifetime(0)]),
    { outcome: ["success"], lifetime: 600 },
  ],
  [
    "attributes appended after MESSAGE-INTEGRITY (a second LIFETIME) -> no effect",
    (s) => appendAttributes(signedRequest(Type.RefreshRequest, [lifetime(1200)], s), [lifetime(0)]),
    { outcome: ["success"], lifetime: 1200 },
  ],
  [
    "attributes appended after MESSAGE-INTEGRITY (an unknown comprehension-required one, a bad XOR-PEER-ADDRESS) -> no effect",
    (s, peer) =>
      appendAttributes(signedRequest(Type.CreatePermissionRequest, [peerAttribute(xorAddressValue(peer.address, peer.port))], s), [
        UNKNOWN_REQUIRED,
        peerAttribute(hex("0003")),
      ]),
    ok,
  ],
  [
    "a trailing MESSAGE-INTEGRITY-SHA256 after MESSAGE-INTEGRITY is not a 420 (a valid one is verified; with no password algorithm named, the answer has MESSAGE-INTEGRITY: RFC 8489 §9.2.4)",
    (s) => appendIntegrity(signedRequest(Type.RefreshRequest, [], s), s.key, "sha256"),
    { outcome: ["success"], lifetime: 600, sha256: false, signed: true },
  ],
  [
    "a trailing MESSAGE-INTEGRITY-SHA256 after MESSAGE-INTEGRITY is not a 420 (a wrong one is a 401)",
    (s) => appendIntegrity(signedRequest(Type.RefreshRequest, [], s), Buffer.alloc(16, 1), "sha256"),
    { outcome: [401] },
  ],
  ["duplicate attributes -> the first is used (LIFETIME 1200, then LIFETIME 0)", (s) => signedRequest(Type.RefreshRequest, [lifetime(1200), lifetime(0)], s), { outcome: ["success"], lifetime: 1200 }],
  [
    "duplicate attributes -> the first is used (USERNAME alice, then bob)",
    (s) => signedRequest(Type.RefreshRequest, [], s, { username: [text(AttributeType.USERNAME, s.username), text(AttributeType.USERNAME, "bob")] }),
    ok,
  ],
  [
    "duplicate attributes -> the first is used (USERNAME bob, then alice, signed with alice's key -> 401)",
    (s) => signedRequest(Type.RefreshRequest, [], s, { username: [text(AttributeType.USERNAME, "bob"), text(AttributeType.USERNAME, s.username)] }),
    { outcome: [401] },
  ],
  ...(
    [
      ["USERNAME of 509 bytes (alice and NULs)", { username: [text(AttributeType.USERNAME, Buffer.concat([Buffer.from("alice"), Buffer.alloc(504)]))] }],
      ["USERNAME of 600 bytes (alice and spaces)", { username: [text(AttributeType.USERNAME, "alice".padEnd(600, " "))] }],
      ["USERNAME of invalid UTF-8 (alice, 0xFF)", { username: [text(AttributeType.USERNAME, Buffer.from("alice\xff", "latin1"))] }],
      ["REALM over 128 characters", { realm: [text(AttributeType.REALM, "example.org".padEnd(129, "x"))] }],
      ["REALM of invalid UTF-8", { realm: [text(AttributeType.REALM, Buffer.from("example.org\xc3", "latin1"))] }],
    ] as const
  ).map(([name, override]): AuthenticatedCase => [
    `${name}, signed with alice's key -> 400/401; never truncated into alice`,
    (s) => signedRequest(Type.RefreshRequest, [], s, override),
    { outcome: [400, 401] },
  ]),
  [
    "NONCE over 128 characters (alice's nonce and more), signed with alice's key -> 400/401",
    (s) => signedRequest(Type.RefreshRequest, [], s, { nonce: [text(AttributeType.NONCE, s.nonce.padEnd(129, "x"))] }),
    { outcome: [400, 401] },
  ],
  [
    "NONCE of invalid UTF-8, signed with alice's key -> 400/401",
    (s) => signedRequest(Type.RefreshRequest, [], s, { nonce: [text(AttributeType.NONCE, Buffer.concat([Buffer.from(s.nonce), ff(1)]))] }),
    { outcome: [400, 401] },
  ],
];

/** SOFTWARE over 128 characters in a signed request: the list says 400/401. */
export const LONG_SOFTWARE: AuthenticatedCase = [
  "SOFTWARE over 128 characters, signed with alice's key -> 400, signed",
  (s) => signedRequest(Type.RefreshRequest, [text(AttributeType.SOFTWARE, "s".repeat(129))], s),
  { outcome: [400], signed: true },
];

/** Send indications that must not reach the peer (RFC 8656 §11.2), then one that must. */
export function hostileSendIndications(peer: { address: string; port: number }): { line: string; bytes: Buffer }[] {
  const data: RawAttribute = { type: AttributeType.DATA, value: Buffer.from("must not arrive") };
  // Malformed values whose first 8 bytes name the real, permitted peer: only the check of the value drops them.
  const real = xorAddressValue(peer.address, peer.port);
  const withFamily = (family: number): Buffer => patched(real, (b) => b.writeUInt8(family, 1));
  const malformedToPeer: readonly (readonly [string, Buffer])[] = [
    ["an IPv4 family with a 12-byte value", Buffer.concat([real, Buffer.alloc(4)])],
    ["an IPv4 family with a 20-byte value", Buffer.concat([real, Buffer.alloc(12)])],
    ["family 0x00", withFamily(0x00)],
    ["family 0x03", withFamily(0x03)],
    ["an IPv6 family with an 8-byte value", withFamily(0x02)],
  ];
  return [
    ...MALFORMED_PEER_ADDRESSES.map(([name, value]) => ({
      line: `XOR-PEER-ADDRESS with ${name} (Send: drop)`,
      bytes: message(Type.SendIndication, [peerAttribute(value), data]),
    })),
    ...malformedToPeer.map(([name, value]) => ({
      line: `XOR-PEER-ADDRESS with ${name}, its first bytes the permitted peer (Send: drop)`,
      bytes: message(Type.SendIndication, [peerAttribute(value), data]),
    })),
    {
      line: "unknown comprehension-required attribute (0x0030) in an indication -> drop",
      bytes: message(Type.SendIndication, [peerAttribute(xorAddressValue(peer.address, peer.port)), data, UNKNOWN_REQUIRED]),
    },
  ];
}

export function sendIndication(peer: { address: string; port: number }, payload: Buffer, extra: readonly RawAttribute[] = []): Buffer {
  return message(Type.SendIndication, [peerAttribute(xorAddressValue(peer.address, peer.port)), { type: AttributeType.DATA, value: payload }, ...extra]);
}

export { UNKNOWN_OPTIONAL, UNKNOWN_REQUIRED, OVERRUN_0XFFFF, SOFTWARE, channel, peerAttribute };
