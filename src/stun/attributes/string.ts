import { assertEncodable, invalidValue, type AttributeCodec } from "./codec.js";

// fatal: malformed UTF-8 is an error, never U+FFFD; ignoreBOM: a leading U+FEFF is kept as sent.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /\p{Cs}/u;

export interface StringLimits {
  readonly maxBytes: number;
  readonly maxCharacters?: number;
  readonly asciiOnly?: boolean;
}

/** RFC 8489 §14: UTF-8 text of fewer than `maxBytes` bytes and fewer than `maxCharacters` characters. */
export function decodeUtf8(value: Buffer, limits: StringLimits): string {
  if (value.length >= limits.maxBytes) throw invalidValue(`${value.length} bytes, limit is < ${limits.maxBytes}`);
  // ASCII, as usernames, realms and nonces nearly always are: one byte per character, nothing to validate.
  if (isAscii(value)) {
    if (limits.maxCharacters !== undefined && value.length >= limits.maxCharacters) {
      throw invalidValue(`too many characters, limit is < ${limits.maxCharacters}`);
    }
    return value.toString("latin1");
  }
  if (limits.asciiOnly === true) throw invalidValue("not ASCII");
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    throw invalidValue("invalid UTF-8");
  }
  if (limits.maxCharacters !== undefined && countCharacters(text) >= limits.maxCharacters) {
    throw invalidValue(`too many characters, limit is < ${limits.maxCharacters}`);
  }
  return text;
}

export function utf8Size(text: string, limits: StringLimits): number {
  const size = Buffer.byteLength(text, "utf8");
  // Every character outside ASCII takes more than one byte: equal lengths mean ASCII.
  if (size === text.length) {
    assertEncodable(size < limits.maxBytes, `text of ${size} bytes, limit is < ${limits.maxBytes}`);
    assertEncodable(limits.maxCharacters === undefined || size < limits.maxCharacters, `text has too many characters, limit is < ${limits.maxCharacters}`);
    return size;
  }
  assertEncodable(!LONE_SURROGATE.test(text), "text contains a lone surrogate");
  assertEncodable(limits.asciiOnly !== true || size === text.length, "text must be ASCII");
  assertEncodable(size < limits.maxBytes, `text of ${size} bytes, limit is < ${limits.maxBytes}`);
  assertEncodable(
    limits.maxCharacters === undefined || countCharacters(text) < limits.maxCharacters,
    `text has too many characters, limit is < ${limits.maxCharacters}`,
  );
  return size;
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return false;
  return true;
}

function countCharacters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function createStringCodec(limits: StringLimits): AttributeCodec<string> {
  return {
    decode: (value) => decodeUtf8(value, limits),
    size: (value) => utf8Size(value, limits),
    write(target, offset, value) {
      target.write(value, offset, "utf8");
    },
  };
}

// RFC 8489 §14.3: USERNAME is fewer than 509 bytes.
export const usernameCodec = createStringCodec({ maxBytes: 509 });
// RFC 8489 §14.8, §14.9, §14.10, §14.14: fewer than 128 characters (at most 763 bytes when decoding).
export const TEXT_LIMITS: StringLimits = { maxBytes: 764, maxCharacters: 128 };
export const textCodec = createStringCodec(TEXT_LIMITS);
// RFC 8489 §14.16: ALTERNATE-DOMAIN is a DNS name of 255 or fewer ASCII characters.
export const alternateDomainCodec = createStringCodec({ maxBytes: 256, asciiOnly: true });
