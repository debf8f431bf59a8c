import { expect } from "vitest";
import { computeFingerprint, StunDecodeError } from "../../src/stun/index.js";

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ""), "hex");
}

export const TRANSACTION_ID = hex("b7e7a701bc34d686fa87dfae");

export interface RawAttribute {
  readonly type: number;
  readonly value: Buffer;
  /** Declared length when it should lie about the value; the bytes written are still `value`. */
  readonly declaredLength?: number;
  /** Padding bytes to write after the value; defaults to zeros up to a multiple of 4. */
  readonly padding?: Buffer;
}

/** Hand-builds a message byte by byte, so that tests can write what the encoder never would. */
export function rawMessage(options: {
  readonly type: number;
  readonly attributes?: readonly RawAttribute[];
  readonly transactionId?: Buffer;
  readonly declaredLength?: number;
}): Buffer {
  const parts: Buffer[] = [];
  for (const attribute of options.attributes ?? []) {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(attribute.type, 0);
    header.writeUInt16BE(attribute.declaredLength ?? attribute.value.length, 2);
    const padding = attribute.padding ?? Buffer.alloc((4 - (attribute.value.length % 4)) % 4);
    parts.push(header, attribute.value, padding);
  }
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(options.type, 0);
  header.writeUInt16BE(options.declaredLength ?? body.length, 2);
  header.writeUInt32BE(0x2112a442, 4);
  (options.transactionId ?? TRANSACTION_ID).copy(header, 8);
  return Buffer.concat([header, body]);
}

/** Runs `fn` and returns the StunDecodeError it throws; fails the test on anything else. */
export function catchDecodeError(fn: () => unknown): StunDecodeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StunDecodeError);
    return error as StunDecodeError;
  }
  throw new Error("expected a StunDecodeError, nothing was thrown");
}

export const BINDING_REQUEST = 0x0001;
export const BINDING_INDICATION = 0x0011;
export const BINDING_SUCCESS = 0x0101;
export const ALLOCATE_REQUEST = 0x0003;
export const SEND_INDICATION = 0x0016;

/** Appends a correct FINGERPRINT to hand-built bytes (RFC 8489 §14.7). */
export function appendFingerprint(message: Buffer): Buffer {
  const out = Buffer.concat([message, hex("80280004"), Buffer.alloc(4)]);
  out.writeUInt16BE(out.length - 20, 2);
  out.writeUInt32BE(computeFingerprint(out.subarray(0, out.length - 8)), out.length - 4);
  return out;
}
