import { assertUint, expectLength, type AttributeCodec } from "./codec.js";

export interface IcmpValue {
  type: number;
  code: number;
  data: number;
}

/** RFC 8656 §18.13: 16 reserved bits, ICMP Type (8), ICMP Code (8), Error Data (32). */
export const icmpCodec: AttributeCodec<IcmpValue> = {
  decode(value) {
    expectLength(value, 8);
    return { type: value[2] ?? 0, code: value[3] ?? 0, data: value.readUInt32BE(4) };
  },
  size: () => 8,
  write(target, offset, value) {
    assertUint(value.type, 8, "ICMP type");
    assertUint(value.code, 8, "ICMP code");
    assertUint(value.data, 32, "ICMP error data");
    target[offset + 2] = value.type;
    target[offset + 3] = value.code;
    target.writeUInt32BE(value.data, offset + 4);
  },
};
