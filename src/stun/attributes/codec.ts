import { StunDecodeError } from "../decode-error.js";

/**
 * One attribute family's value codec. `decode` sees the value only (no header, no padding) and throws
 * StunDecodeError "bad-attribute-value"; `size` is the unpadded value length, so that the encoder
 * can allocate once; `write` fills exactly `size(value)` bytes at `offset`.
 */
export interface AttributeCodec<T> {
  decode(value: Buffer, transactionId: Buffer): T;
  size(value: T): number;
  write(target: Buffer, offset: number, value: T, transactionId: Uint8Array): void;
}

export function invalidValue(detail: string): StunDecodeError {
  return new StunDecodeError("bad-attribute-value", detail);
}

export function expectLength(value: Buffer, length: number): void {
  if (value.length !== length) throw invalidValue(`value length ${value.length}, expected ${length}`);
}

/** Encoding a value the wire cannot carry is a programming error, not a decode error. */
export function assertEncodable(condition: boolean, detail: string): asserts condition {
  if (!condition) throw new RangeError(detail);
}

export function assertUint(value: number, bits: 8 | 16 | 32, what: string): void {
  assertEncodable(Number.isInteger(value) && value >= 0 && value < 2 ** bits, `${what} must be a ${bits}-bit unsigned integer`);
}
