import { assertEncodable, assertUint, invalidValue, type AttributeCodec } from "./codec.js";
import { decodeUtf8, TEXT_LIMITS, utf8Size } from "./string.js";

// RFC 8489 §14.8: 21 reserved bits, Class (3 bits, 3..6), Number (8 bits, 0..99), reason phrase.
// RFC 8656 §18.12 ADDRESS-ERROR-CODE is the same with the first byte holding an address family.

export interface ErrorCodeValue {
  code: number;
  reason: string;
}

export interface AddressErrorCodeValue extends ErrorCodeValue {
  family: number;
}

function decodeCode(value: Buffer): number {
  if (value.length < 4) throw invalidValue(`value length ${value.length}, expected at least 4`);
  const errorClass = (value[2] ?? 0) & 0x07;
  const errorNumber = value[3] ?? 0;
  if (errorClass < 3 || errorClass > 6) throw invalidValue(`error class ${errorClass}`);
  if (errorNumber > 99) throw invalidValue(`error number ${errorNumber}`);
  return errorClass * 100 + errorNumber;
}

function writeCode(target: Buffer, offset: number, code: number): void {
  assertEncodable(Number.isInteger(code) && code >= 300 && code <= 699, `error code ${code} outside 300..699`);
  target[offset + 2] = Math.floor(code / 100);
  target[offset + 3] = code % 100;
}

export const errorCodeCodec: AttributeCodec<ErrorCodeValue> = {
  decode(value) {
    const code = decodeCode(value);
    return { code, reason: decodeUtf8(value.subarray(4), TEXT_LIMITS) };
  },
  size: (value) => 4 + utf8Size(value.reason, TEXT_LIMITS),
  write(target, offset, value) {
    writeCode(target, offset, value.code);
    target.write(value.reason, offset + 4, "utf8");
  },
};

export const addressErrorCodeCodec: AttributeCodec<AddressErrorCodeValue> = {
  decode(value) {
    const code = decodeCode(value);
    return { family: value[0] ?? 0, code, reason: decodeUtf8(value.subarray(4), TEXT_LIMITS) };
  },
  size: (value) => 4 + utf8Size(value.reason, TEXT_LIMITS),
  write(target, offset, value) {
    assertUint(value.family, 8, "family");
    target[offset] = value.family;
    writeCode(target, offset, value.code);
    target.write(value.reason, offset + 4, "utf8");
  },
};
