import { assertEncodable, assertUint, expectLength, type AttributeCodec } from "./codec.js";

/** A 32-bit unsigned value: LIFETIME (RFC 8656 §18.2), FINGERPRINT, PRIORITY, CONNECTION-ID (RFC 6062 §6.2). */
export const uint32Codec: AttributeCodec<number> = {
  decode(value) {
    expectLength(value, 4);
    return value.readUInt32BE(0);
  },
  size: () => 4,
  write(target, offset, value) {
    assertUint(value, 32, "value");
    target.writeUInt32BE(value, offset);
  },
};

/** A 64-bit unsigned value: ICE-CONTROLLED / ICE-CONTROLLING tie-breakers (RFC 8445 §16.1). */
export const uint64Codec: AttributeCodec<bigint> = {
  decode(value) {
    expectLength(value, 8);
    return value.readBigUInt64BE(0);
  },
  size: () => 8,
  write(target, offset, value) {
    assertEncodable(value >= 0n && value < 2n ** 64n, "value must be a 64-bit unsigned integer");
    target.writeBigUInt64BE(value, offset);
  },
};

/**
 * A number in the leading 8 or 16 bits of a 4-byte value whose remaining bits are RFFU and ignored:
 * CHANNEL-NUMBER (RFC 8656 §18.1), REQUESTED-ADDRESS-FAMILY (§18.6), REQUESTED-TRANSPORT (§18.8),
 * ADDITIONAL-ADDRESS-FAMILY (§18.11).
 */
function createLeadingNumberCodec(bits: 8 | 16): AttributeCodec<number> {
  return {
    decode(value) {
      expectLength(value, 4);
      return bits === 8 ? (value[0] ?? 0) : value.readUInt16BE(0);
    },
    size: () => 4,
    write(target, offset, value) {
      assertUint(value, bits, "value");
      if (bits === 8) target[offset] = value;
      else target.writeUInt16BE(value, offset);
    },
  };
}

export const leadingUint8Codec = createLeadingNumberCodec(8);
export const leadingUint16Codec = createLeadingNumberCodec(16);
