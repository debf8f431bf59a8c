import { randomBytes } from "node:crypto";
import { getAttribute } from "../../../src/stun/attributes/registry.js";
import { AttributeType } from "../../../src/stun/constants.js";
import { writeMessageIntegrity } from "../../../src/stun/integrity.js";
import { decodeMessage, type StunMessage } from "../../../src/stun/message.js";
import { rawMessage, type RawAttribute } from "../../stun/helpers.js";

export { appendFingerprint, hex, rawMessage, type RawAttribute } from "../../stun/helpers.js";

/** Message types as they appear on the wire (RFC 8489 §5: method and class bits interleaved). */
export const Type = {
  BindingRequest: 0x0001,
  BindingIndication: 0x0011,
  BindingSuccess: 0x0101,
  BindingError: 0x0111,
  AllocateRequest: 0x0003,
  AllocateIndication: 0x0013,
  AllocateSuccess: 0x0103,
  AllocateError: 0x0113,
  RefreshRequest: 0x0004,
  RefreshIndication: 0x0014,
  SendIndication: 0x0016,
  DataIndication: 0x0017,
  CreatePermissionRequest: 0x0008,
  CreatePermissionIndication: 0x0018,
  ChannelBindRequest: 0x0009,
  ChannelBindIndication: 0x0019,
} as const;

export const REQUESTED_TRANSPORT_UDP: RawAttribute = { type: AttributeType.REQUESTED_TRANSPORT, value: Buffer.from([17, 0, 0, 0]) };

/** A hand-built message with a fresh transaction ID (RFC 8489 §5). */
export function message(type: number, attributes: readonly RawAttribute[] = []): Buffer {
  return rawMessage({ type, attributes, transactionId: randomBytes(12) });
}

export function transactionIdOf(bytes: Buffer): Buffer {
  return bytes.subarray(8, 20);
}

/** Copies `bytes` with the header length field set to `length`. */
export function withLength(bytes: Buffer, length: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt16BE(length, 2);
  return copy;
}

/** Appends attributes after whatever `bytes` ends with (even after the integrity attributes) and fixes the header length. */
export function appendAttributes(bytes: Buffer, attributes: readonly RawAttribute[]): Buffer {
  const tail = rawMessage({ type: 0, attributes }).subarray(20);
  const out = Buffer.concat([bytes, tail]);
  out.writeUInt16BE(out.length - 20, 2);
  return out;
}

/** Appends MESSAGE-INTEGRITY (sha1) or MESSAGE-INTEGRITY-SHA256 computed over `bytes` as they are, padding included (RFC 8489 §14.5, §14.6). */
export function appendIntegrity(bytes: Buffer, key: Buffer, algorithm: "sha1" | "sha256" = "sha1"): Buffer {
  const size = algorithm === "sha1" ? 20 : 32;
  const out = Buffer.concat([bytes, Buffer.alloc(4 + size)]);
  out.writeUInt16BE(algorithm === "sha1" ? AttributeType.MESSAGE_INTEGRITY : AttributeType.MESSAGE_INTEGRITY_SHA256, bytes.length);
  out.writeUInt16BE(size, bytes.length + 2);
  out.writeUInt16BE(out.length - 20, 2);
  writeMessageIntegrity(algorithm, key, out, bytes.length, out.length, out, bytes.length + 4);
  return out;
}

export interface SigningState {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly key: Buffer;
}

export const text = (type: number, value: string | Buffer, padding?: Buffer): RawAttribute => ({
  type,
  value: typeof value === "string" ? Buffer.from(value, "utf8") : value,
  ...(padding ? { padding } : {}),
});

/**
 * A long-term-credential request written byte by byte (RFC 8489 §9.2.3): `attributes`, then USERNAME,
 * REALM and NONCE (each replaceable by `override`), then MESSAGE-INTEGRITY over exactly those bytes.
 */
export function signedRequest(
  type: number,
  attributes: readonly RawAttribute[],
  signing: SigningState,
  override: { readonly username?: readonly RawAttribute[]; readonly realm?: readonly RawAttribute[]; readonly nonce?: readonly RawAttribute[] } = {},
): Buffer {
  const credentials = [
    ...(override.username ?? [text(AttributeType.USERNAME, signing.username)]),
    ...(override.realm ?? [text(AttributeType.REALM, signing.realm)]),
    ...(override.nonce ?? [text(AttributeType.NONCE, signing.nonce)]),
  ];
  return appendIntegrity(message(type, [...attributes, ...credentials]), signing.key);
}

/** XOR-PEER-ADDRESS / XOR-MAPPED-ADDRESS value for an IPv4 address (RFC 8489 §14.2). */
export function xorAddressValue(address: string, port: number): Buffer {
  const value = Buffer.alloc(8);
  value.writeUInt16BE(0x0001, 0);
  value.writeUInt16BE(port ^ 0x2112, 2);
  const octets = address.split(".").map(Number);
  value.writeUInt32BE((((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) ^ 0x2112a442) >>> 0, 4);
  return value;
}

export function channelDataFrame(channel: number, payload: Buffer, declaredLength = payload.length, padTo4 = false): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(channel, 0);
  header.writeUInt16BE(declaredLength, 2);
  const padding = padTo4 ? Buffer.alloc((4 - (payload.length % 4)) % 4) : Buffer.alloc(0);
  return Buffer.concat([header, payload, padding]);
}

/** Attribute TLVs as they sit on the wire: type, value and the padding bytes after it. */
export function wireAttributes(bytes: Buffer): { type: number; value: Buffer; padding: Buffer }[] {
  const out: { type: number; value: Buffer; padding: Buffer }[] = [];
  for (let offset = 20; offset + 4 <= bytes.length; ) {
    const type = bytes.readUInt16BE(offset);
    const length = bytes.readUInt16BE(offset + 2);
    const end = offset + 4 + length;
    const padded = offset + 4 + ((length + 3) & ~3);
    out.push({ type, value: bytes.subarray(offset + 4, end), padding: bytes.subarray(end, padded) });
    offset = padded;
  }
  return out;
}

/** RFC 8489 §14: every padding byte we send is zero. Returns the offending attribute types. */
export function nonZeroPadding(bytes: Buffer): number[] {
  return wireAttributes(bytes)
    .filter((attribute) => attribute.padding.some((byte) => byte !== 0))
    .map((attribute) => attribute.type);
}

export interface Answer {
  readonly bytes: Buffer;
  readonly message: StunMessage;
  readonly code: number | undefined;
}

/** A response as received: decoded with our codec, with its ERROR-CODE if any. */
export function answerOf(bytes: Buffer): Answer {
  const decoded = decodeMessage(bytes);
  return { bytes, message: decoded, code: getAttribute(decoded, "ERROR-CODE")?.code };
}

/** A TLS record carrying a ClientHello whose highest version is `version` (0x0301 TLS 1.0, 0x0302 TLS 1.1), without supported_versions. */
export function clientHello(version: number): Buffer {
  const ciphers = Buffer.from("c013c014002f0035000a", "hex"); // ECDHE-RSA-AES128-SHA, ..., DES-CBC3-SHA: all TLS 1.0-era suites
  const body = Buffer.concat([
    Buffer.from([version >> 8, version & 0xff]),
    randomBytes(32),
    Buffer.from([0]), // no session id
    Buffer.from([ciphers.length >> 8, ciphers.length & 0xff]),
    ciphers,
    Buffer.from([1, 0]), // null compression
    // extensions: supported_groups (secp256r1) and ec_point_formats (uncompressed)
    Buffer.from("000e" + "000a000400020017" + "000b00020100", "hex"),
  ]);
  const handshake = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01, handshake.length >> 8, handshake.length & 0xff]), handshake]);
}
