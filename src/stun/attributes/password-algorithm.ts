import { padTo4 } from "../padding.js";
import { assertUint, invalidValue, type AttributeCodec } from "./codec.js";

export interface PasswordAlgorithmValue {
  algorithm: number;
  parameters: Buffer;
}

// RFC 8489 §14.11, §14.12: Algorithm (16 bits), Parameters Length (16 bits, before padding),
// Parameters padded to 4 bytes. Decoded parameters are views into the message.

/** Reads one entry at `offset`; returns it and the offset after its (padded) parameters. */
function readEntry(value: Buffer, offset: number): { entry: PasswordAlgorithmValue; next: number } {
  if (value.length - offset < 4) throw invalidValue("truncated password algorithm");
  const algorithm = value.readUInt16BE(offset);
  const parametersLength = value.readUInt16BE(offset + 2);
  const start = offset + 4;
  if (start + parametersLength > value.length) throw invalidValue("password algorithm parameters overrun");
  // The last entry's padding may be the attribute's own padding, outside the value.
  const next = Math.min(start + padTo4(parametersLength), value.length);
  return { entry: { algorithm, parameters: value.subarray(start, start + parametersLength) }, next };
}

function entrySize(entry: PasswordAlgorithmValue): number {
  return 4 + padTo4(entry.parameters.length);
}

function writeEntry(target: Buffer, offset: number, entry: PasswordAlgorithmValue): void {
  assertUint(entry.algorithm, 16, "algorithm");
  assertUint(entry.parameters.length, 16, "parameters length");
  target.writeUInt16BE(entry.algorithm, offset);
  target.writeUInt16BE(entry.parameters.length, offset + 2);
  target.set(entry.parameters, offset + 4);
}

export const passwordAlgorithmCodec: AttributeCodec<PasswordAlgorithmValue> = {
  decode(value) {
    const { entry, next } = readEntry(value, 0);
    if (next !== value.length) throw invalidValue("bytes after the password algorithm parameters");
    return entry;
  },
  size: entrySize,
  write: writeEntry,
};

export const passwordAlgorithmsCodec: AttributeCodec<PasswordAlgorithmValue[]> = {
  decode(value) {
    const entries: PasswordAlgorithmValue[] = [];
    for (let offset = 0; offset < value.length; ) {
      const { entry, next } = readEntry(value, offset);
      entries.push(entry);
      offset = next;
    }
    return entries;
  },
  size: (value) => value.reduce((total, entry) => total + entrySize(entry), 0),
  write(target, offset, value) {
    for (const entry of value) {
      writeEntry(target, offset, entry);
      offset += entrySize(entry);
    }
  },
};
