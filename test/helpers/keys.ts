import { KeyObject } from "node:crypto";
import type { IntegrityKey } from "../../src/stun/index.js";

/** A long-term key's bytes in hex, whether the store gave a KeyObject or raw bytes. */
export function keyHex(key: IntegrityKey): string {
  return (key instanceof KeyObject ? key.export() : Buffer.from(key)).toString("hex");
}
