import { assertUint, invalidValue, type AttributeCodec } from "./codec.js";

/** RFC 8489 §14.13: a list of 16-bit attribute types, padded like any attribute. */
export const unknownAttributesCodec: AttributeCodec<number[]> = {
  decode(value) {
    if (value.length % 2 !== 0) throw invalidValue(`value length ${value.length} is odd`);
    const types: number[] = [];
    for (let i = 0; i < value.length; i += 2) types.push(value.readUInt16BE(i));
    return types;
  },
  size: (value) => value.length * 2,
  write(target, offset, value) {
    value.forEach((type, i) => {
      assertUint(type, 16, "attribute type");
      target.writeUInt16BE(type, offset + i * 2);
    });
  },
};
