// HMAC (RFC 2104) as two one-shot hashes over key blocks prepared once per key. Node's createHmac
// builds an OpenSSL MAC context on every call, and OpenSSL 3 looks the algorithm up by name each time:
// in an allocation churn that setup was 9% of the server's busy time, more than the hashing itself.
// The digests come back as Latin-1 text ("binary"), not Buffers: a Buffer per digest (an ArrayBuffer
// with memory of its own) cost more than the hash of a STUN message.
import { hash, KeyObject } from "node:crypto";

export type HmacAlgorithm = "sha1" | "sha256";

/** A key's bytes, or a KeyObject (its bytes are read once, on first use). */
export type HmacKey = Uint8Array | KeyObject;

const BLOCK_BYTES = 64; // SHA-1 and SHA-256 alike
const IPAD = 0x36;
const OPAD = 0x5c;
/** The largest STUN message (RFC 8489 §5: a 16-bit length after the 20-byte header), with room to spare. */
const MAX_DATA_BYTES = 65_536 + 20;

interface Pads {
  /** key XOR ipad, then the data: the inner hash's input, built in place. */
  readonly inner: Buffer;
  /** key XOR opad, then the inner digest. */
  readonly outer: Buffer;
}

// One scratch pair per isolate, reused by every call (each call is synchronous). Key material goes
// only into buffers of its own (Buffer.alloc), never into the slabs Node shares between small Buffers.
const inner = Buffer.alloc(BLOCK_BYTES + MAX_DATA_BYTES);
const outer = Buffer.alloc(BLOCK_BYTES + 32);
const keyBlocks = new WeakMap<KeyObject, Partial<Record<HmacAlgorithm, Pads>>>();
// Views of the scratch buffers as the hashes read them, made once per length: a Buffer view per
// hash was a third of the garbage an HMAC made. STUN messages come in few lengths; past the bound
// (lengths a client can choose freely), the views are made again from empty.
const innerViews = new Map<number, Buffer>();
const MAX_INNER_VIEWS = 64;
const outerViews: Record<HmacAlgorithm, Buffer> = {
  sha1: outer.subarray(0, BLOCK_BYTES + 20),
  sha256: outer.subarray(0, BLOCK_BYTES + 32),
};

export type HmacData = Uint8Array | string | readonly Uint8Array[];

/** HMAC-`algorithm`(key, data); a string is taken as UTF-8, a list of parts as their concatenation. */
export function hmac(algorithm: HmacAlgorithm, key: HmacKey, data: HmacData): Buffer {
  const mac = Buffer.alloc(hmacLength(algorithm));
  hmacInto(algorithm, key, data, mac, 0);
  return mac;
}

export function hmacLength(algorithm: HmacAlgorithm): number {
  return algorithm === "sha1" ? 20 : 32;
}

/** hmac(), written into `target` at `offset`, which must have room for hmacLength(algorithm) bytes. */
export function hmacInto(algorithm: HmacAlgorithm, key: HmacKey, data: HmacData, target: Buffer, offset: number): void {
  const pads = padsFor(algorithm, key);
  pads.inner.copy(inner, 0);
  const dataLength = typeof data === "string" ? writeText(data) : data instanceof Uint8Array ? copyPart(data, 0) : copyData(data);
  finish(algorithm, pads, dataLength, target, offset);
}

/**
 * RFC 8489 §14.5/§14.6: the HMAC of a STUN message's first `attributeStart` bytes with the header's
 * length field read as `lengthField`, into `target` at `offset`. The same as hmacInto over the three
 * parts, copied straight from `message`.
 */
export function hmacMessageInto(
  algorithm: HmacAlgorithm,
  key: HmacKey,
  message: Buffer,
  attributeStart: number,
  lengthField: number,
  target: Buffer,
  offset: number,
): void {
  const pads = padsFor(algorithm, key);
  pads.inner.copy(inner, 0);
  if (attributeStart < 4 || attributeStart > message.length || attributeStart > MAX_DATA_BYTES) throw new RangeError("bad message span");
  message.copy(inner, BLOCK_BYTES, 0, 2);
  inner.writeUInt16BE(lengthField, BLOCK_BYTES + 2);
  message.copy(inner, BLOCK_BYTES + 4, 4, attributeStart);
  finish(algorithm, pads, attributeStart, target, offset);
}

/** The two hashes, once the data sits in `inner` after the key block. */
function finish(algorithm: HmacAlgorithm, pads: Pads, dataLength: number, target: Buffer, offset: number): void {
  const innerDigest = hash(algorithm, innerView(BLOCK_BYTES + dataLength), "binary");
  pads.outer.copy(outer, 0);
  outer.write(innerDigest, BLOCK_BYTES, "latin1");
  const mac = hash(algorithm, outerViews[algorithm], "binary");
  if (target.length - offset < mac.length) throw new RangeError("no room for the HMAC");
  target.write(mac, offset, "latin1");
}

function innerView(length: number): Buffer {
  let view = innerViews.get(length);
  if (view === undefined) {
    if (innerViews.size >= MAX_INNER_VIEWS) innerViews.clear();
    innerViews.set(length, (view = inner.subarray(0, length)));
  }
  return view;
}

function writeText(text: string): number {
  const written = inner.write(text, BLOCK_BYTES, "utf8");
  // write() stops where the next character would not fit.
  if (written > MAX_DATA_BYTES - 4 && Buffer.byteLength(text, "utf8") !== written) throw new RangeError("HMAC input too long");
  return written;
}

function copyData(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length = copyPart(part, length);
  return length;
}

/** Appends `part` to the data in `inner`, `length` bytes long so far; returns the new length. */
function copyPart(part: Uint8Array, length: number): number {
  if (length + part.length > MAX_DATA_BYTES) throw new RangeError("HMAC input too long");
  inner.set(part, BLOCK_BYTES + length);
  return length + part.length;
}

function padsFor(algorithm: HmacAlgorithm, key: HmacKey): Pads {
  if (!(key instanceof KeyObject)) return makePads(algorithm, key);
  let byAlgorithm = keyBlocks.get(key);
  if (byAlgorithm === undefined) keyBlocks.set(key, (byAlgorithm = {}));
  return (byAlgorithm[algorithm] ??= makePads(algorithm, key.export()));
}

function makePads(algorithm: HmacAlgorithm, key: Uint8Array): Pads {
  // RFC 2104 §2: a key longer than the block is hashed first; a shorter one is padded with zeros.
  const block = Buffer.alloc(BLOCK_BYTES);
  block.set(key.length > BLOCK_BYTES ? hash(algorithm, key, "buffer") : key);
  const innerPad = Buffer.alloc(BLOCK_BYTES);
  const outerPad = Buffer.alloc(BLOCK_BYTES);
  for (let i = 0; i < BLOCK_BYTES; i++) {
    innerPad[i] = block[i]! ^ IPAD;
    outerPad[i] = block[i]! ^ OPAD;
  }
  return { inner: innerPad, outer: outerPad };
}
