import { randomFillSync } from "node:crypto";
import { TRANSACTION_ID_LENGTH } from "./constants.js";

// RFC 8489 §5: 96 random bits. Drawn from a pool refilled every 256 IDs, rather than with a crypto
// call per message (randomBytes(12) costs about 1.6 µs).
const pool = Buffer.allocUnsafe(TRANSACTION_ID_LENGTH * 256);
let poolOffset = pool.length;

/** Writes a random transaction ID into `target` at `offset`. */
export function writeRandomTransactionId(target: Uint8Array, offset: number): void {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  for (let i = 0; i < TRANSACTION_ID_LENGTH; i++) target[offset + i] = pool[poolOffset + i]!;
  poolOffset += TRANSACTION_ID_LENGTH;
}
