import { assertEncodable, expectLength, invalidValue, type AttributeCodec } from "./codec.js";

// Decoded byte values are views into the received message, not copies.

/** Opaque bytes of one fixed length: USERHASH 32, MESSAGE-INTEGRITY 20, RESERVATION-TOKEN 8. */
export function createFixedBytesCodec(length: number): AttributeCodec<Buffer> {
  return {
    decode(value) {
      expectLength(value, length);
      return value;
    },
    size(value) {
      assertEncodable(value.length === length, `value must be ${length} bytes`);
      return length;
    },
    write(target, offset, value) {
      target.set(value, offset);
    },
  };
}

/** DATA (RFC 8656 §18.4): any bytes. */
export const dataCodec: AttributeCodec<Buffer> = {
  decode: (value) => value,
  size(value) {
    assertEncodable(value.length <= 0xffff, "value longer than 65535 bytes");
    return value.length;
  },
  write(target, offset, value) {
    target.set(value, offset);
  },
};

// RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 may be truncated to 16..32 bytes, a multiple of 4.
function isValidSha256MacLength(length: number): boolean {
  return length >= 16 && length <= 32 && length % 4 === 0;
}

export const sha256MacCodec: AttributeCodec<Buffer> = {
  decode(value) {
    if (!isValidSha256MacLength(value.length)) throw invalidValue(`value length ${value.length}, expected 16..32 in steps of 4`);
    return value;
  },
  size(value) {
    assertEncodable(isValidSha256MacLength(value.length), "value must be 16..32 bytes, a multiple of 4");
    return value.length;
  },
  write(target, offset, value) {
    target.set(value, offset);
  },
};
