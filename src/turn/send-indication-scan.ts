import { formatIp } from "../stun/address.js";
import { attributeName } from "../stun/attributes/registry.js";
import { AddressFamily, AttributeType, HEADER_LENGTH, isComprehensionRequired, MAGIC_COOKIE } from "../stun/constants.js";
import { computeFingerprint } from "../stun/fingerprint.js";

/**
 * Where a Send indication's first XOR-PEER-ADDRESS and first DATA values sit in the message
 * (offset -1: absent), and whether it carries DONT-FRAGMENT. One record is reused for every packet.
 */
export interface SendIndicationView {
  peerOffset: number;
  peerLength: number;
  dataOffset: number;
  dataLength: number;
  dontFragment: boolean;
}

export function createSendIndicationView(): SendIndicationView {
  return { peerOffset: -1, peerLength: 0, dataOffset: -1, dataLength: 0, dontFragment: false };
}

/**
 * decodeMessage's checks and attribute walk for the one indication on the data path, building no
 * objects. False: the indication is dropped (malformed, a bad FINGERPRINT, or an unknown
 * comprehension-required attribute, RFC 8489 §6.3.2). True: `view` locates the peer and the data.
 */
export function scanSendIndication(bytes: Buffer, view: SendIndicationView): boolean {
  view.peerOffset = -1;
  view.dataOffset = -1;
  view.dontFragment = false;
  if (bytes.length < HEADER_LENGTH || (bytes[0]! & 0xc0) !== 0 || bytes.readUInt32BE(4) !== MAGIC_COOKIE) return false;
  const length = bytes.readUInt16BE(2);
  if (length % 4 !== 0 || length !== bytes.length - HEADER_LENGTH) return false;

  // RFC 8489 §9: past MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count; past
  // MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
  let seenIntegrity = false;
  let seenIntegritySha256 = false;
  for (let position = HEADER_LENGTH; position < bytes.length; ) {
    if (bytes.length - position < 4) return false;
    const type = bytes.readUInt16BE(position);
    const valueLength = bytes.readUInt16BE(position + 2);
    const offset = position + 4;
    const next = offset + ((valueLength + 3) & ~3);
    if (next > bytes.length) return false;

    if (type === AttributeType.FINGERPRINT) {
      if (next !== bytes.length || valueLength !== 4) return false;
      if (bytes.readUInt32BE(offset) !== computeFingerprint(bytes.subarray(0, position))) return false;
    } else if (seenIntegritySha256 || (seenIntegrity && type !== AttributeType.MESSAGE_INTEGRITY_SHA256)) {
      // Ignored: neither an attribute nor unknown.
    } else if (type === AttributeType.XOR_PEER_ADDRESS) {
      if (view.peerOffset < 0) {
        view.peerOffset = offset;
        view.peerLength = valueLength;
      }
    } else if (type === AttributeType.DATA) {
      if (view.dataOffset < 0) {
        view.dataOffset = offset;
        view.dataLength = valueLength;
      }
    } else if (type === AttributeType.DONT_FRAGMENT) {
      view.dontFragment = true;
    } else if (type === AttributeType.MESSAGE_INTEGRITY) {
      seenIntegrity = true;
    } else if (type === AttributeType.MESSAGE_INTEGRITY_SHA256) {
      seenIntegritySha256 = true;
    } else if (attributeName(type) === undefined && isComprehensionRequired(type)) {
      return false;
    }
    position = next;
  }
  return true;
}

/** Where the last peer's address text is kept (an allocation): a Send to the same peer formats nothing. */
export interface SendPeerCache {
  sendPeer?: { readonly bytes: Uint8Array; readonly address: string };
}

// The peer's address, un-XORed; reused for every packet (each call is synchronous).
const peerBytes = new Uint8Array(16);

/** XOR-PEER-ADDRESS (RFC 8489 §14.2) of a scanned indication as text; undefined when absent or malformed. */
export function sendIndicationPeerAddress(bytes: Buffer, view: SendIndicationView, cache: SendPeerCache): string | undefined {
  const offset = view.peerOffset;
  if (offset < 0) return undefined;
  const family = bytes[offset + 1];
  const length = view.peerLength;
  const addressLength = family === AddressFamily.IPv4 && length === 8 ? 4 : family === AddressFamily.IPv6 && length === 20 ? 16 : 0;
  if (addressLength === 0) return undefined;
  // The mask is the cookie and then, for IPv6, the transaction ID: header bytes 4 to 19.
  for (let i = 0; i < addressLength; i++) peerBytes[i] = bytes[offset + 4 + i]! ^ bytes[4 + i]!;
  const last = cache.sendPeer;
  if (last !== undefined && last.bytes.length === addressLength && startsWith(peerBytes, last.bytes)) return last.address;
  const peer = peerBytes.slice(0, addressLength);
  const address = formatIp(peer);
  cache.sendPeer = { bytes: peer, address };
  return address;
}

/** The peer's port, once sendIndicationPeerAddress has found a well-formed XOR-PEER-ADDRESS. */
export function sendIndicationPeerPort(bytes: Buffer, view: SendIndicationView): number {
  return bytes.readUInt16BE(view.peerOffset + 2) ^ (MAGIC_COOKIE >>> 16);
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}
