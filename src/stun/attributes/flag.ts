import { expectLength, type AttributeCodec } from "./codec.js";

/** A zero-length attribute whose presence is the value: DONT-FRAGMENT (RFC 8656 §18.9), USE-CANDIDATE. */
export const presenceCodec: AttributeCodec<true> = {
  decode(value) {
    expectLength(value, 0);
    return true;
  },
  size: () => 0,
  write() {},
};

// RFC 8656 §18.7: EVEN-PORT is one byte; its top bit R asks to reserve the next port.
const RESERVE_NEXT_PORT = 0x80;

export const evenPortCodec: AttributeCodec<boolean> = {
  decode(value) {
    expectLength(value, 1);
    return ((value[0] ?? 0) & RESERVE_NEXT_PORT) !== 0;
  },
  size: () => 1,
  write(target, offset, value) {
    target[offset] = value ? RESERVE_NEXT_PORT : 0;
  },
};
