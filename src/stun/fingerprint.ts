import { crc32 } from "node:zlib";
import { FINGERPRINT_XOR } from "./constants.js";

/** RFC 8489 §14.7: CRC-32 of the message up to (not including) FINGERPRINT, XOR 0x5354554E. */
export function computeFingerprint(bytes: Uint8Array): number {
  return (crc32(bytes) ^ FINGERPRINT_XOR) >>> 0;
}
