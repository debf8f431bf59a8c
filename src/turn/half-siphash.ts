/**
 * HalfSipHash-2-4 with a 32-bit output (Aumasson and Bernstein's reference, `halfsiphash.c`) over
 * three 32-bit words read as 12 little-endian bytes, under a 64-bit key: a keyed hash for a
 * fixed-size table, so that which entries collide cannot be worked out without the key (the Linux
 * kernel hashes its tables with it for that reason). The state stays in locals: nothing is allocated.
 */
export function halfSipHash3(key0: number, key1: number, word0: number, word1: number, word2: number): number {
  let v0 = key0 | 0;
  let v1 = key1 | 0;
  let v2 = 0x6c796765 ^ key0;
  let v3 = 0x74656462 ^ key1;
  // Blocks 0-2: the words, two rounds each; block 3: the length in bytes (12) in the top byte,
  // two rounds; block 4: finalization, four rounds.
  for (let block = 0; block < 5; block++) {
    const m = block === 0 ? word0 : block === 1 ? word1 : block === 2 ? word2 : 12 << 24;
    if (block < 4) v3 ^= m;
    else v2 ^= 0xff;
    for (let round = block < 4 ? 2 : 4; round > 0; round--) {
      v0 = (v0 + v1) | 0;
      v1 = ((v1 << 5) | (v1 >>> 27)) ^ v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = ((v3 << 8) | (v3 >>> 24)) ^ v2;
      v0 = (v0 + v3) | 0;
      v3 = ((v3 << 7) | (v3 >>> 25)) ^ v0;
      v2 = (v2 + v1) | 0;
      v1 = ((v1 << 13) | (v1 >>> 19)) ^ v2;
      v2 = (v2 << 16) | (v2 >>> 16);
    }
    if (block < 4) v0 ^= m;
  }
  return (v1 ^ v3) >>> 0;
}
