import { AttributeType, MAGIC_COOKIE } from "../stun/constants.js";
import { writeRandomTransactionId } from "../stun/transaction-id.js";

// Method Data (0x007) with class Indication (0b01): RFC 8489 §5 bit layout gives 0x0017.
const DATA_INDICATION_TYPE = 0x0017;
/** Header (20) + XOR-PEER-ADDRESS (4 + 20 for IPv6) + DATA attribute header (4). */
export const MAX_DATA_INDICATION_HEAD = 48;
const COOKIE_HIGH = MAGIC_COOKIE >>> 16;

/** The head's exact length for a peer address of `addressLength` bytes (4 or 16). */
export function dataIndicationHeadLength(addressLength: number): number {
  return 28 + addressLength + 4;
}

/**
 * RFC 8656 §11.3: writes a Data indication up to and including the DATA attribute header into
 * `target`; the caller sends it followed by the data and `(4 - length % 4) % 4` zero bytes.
 * `peer` holds the peer's address bytes (4 or 16), parsed once when its permission was installed.
 * Returns the number of bytes written.
 */
export function writeDataIndicationHead(target: Buffer, peer: Uint8Array, peerPort: number, dataLength: number): number {
  const addressLength = peer.length;
  const attributesLength = 4 + 4 + addressLength + 4 + ((dataLength + 3) & ~3);
  target.writeUInt16BE(DATA_INDICATION_TYPE, 0);
  target.writeUInt16BE(attributesLength, 2);
  target.writeUInt32BE(MAGIC_COOKIE, 4);
  // RFC 8489 §5 leaves an indication's transaction ID to its sender.
  writeRandomTransactionId(target, 8);
  // XOR-PEER-ADDRESS (RFC 8489 §14.2): port XOR the cookie's high half; address XOR cookie (+ transaction id for IPv6).
  target.writeUInt16BE(AttributeType.XOR_PEER_ADDRESS, 20);
  target.writeUInt16BE(4 + addressLength, 22);
  target[24] = 0;
  target[25] = addressLength === 4 ? 0x01 : 0x02;
  target.writeUInt16BE(peerPort ^ COOKIE_HIGH, 26);
  for (let i = 0; i < addressLength; i++) target[28 + i] = peer[i]! ^ target[4 + i]!;
  const headLength = dataIndicationHeadLength(addressLength);
  target.writeUInt16BE(AttributeType.DATA, headLength - 4);
  target.writeUInt16BE(dataLength, headLength - 2);
  return headLength;
}
