import type { MessageClass } from "./constants.js";

/** RFC 8489 §5: the top two bits of every STUN message are 00 (RFC 8656 §12 demuxes on this). */
export function isStunHeaderByte(firstByte: number): boolean {
  return (firstByte & 0xc0) === 0;
}

// RFC 8489 §5: the 14-bit message type interleaves the class bits C1 C0 with the 12 method bits
// as M11..M7 C1 M6..M4 C0 M3..M0.
export function encodeMessageType(method: number, messageClass: MessageClass): number {
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((messageClass & 0b01) << 4) |
    ((messageClass & 0b10) << 7)
  );
}

export function methodOf(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

export function messageClassOf(type: number): MessageClass {
  return (((type >> 4) & 0b01) | ((type >> 7) & 0b10)) as MessageClass;
}
