// API keys: compared in constant time over SHA-256 digests, so neither the content nor the
// length of a configured key leaks through timing, and every key is compared on every request.
import { createHash, timingSafeEqual } from "node:crypto";

export interface ApiKeyVerifier {
  /** Index of the configured key equal to `presented`, or undefined. */
  match(presented: string): number | undefined;
  /**
   * What the per-key allowance of key `index` is kept under: the same for the same key across
   * reloads, whatever its place in the list (a part of its digest, which tells nothing of the key).
   */
  subjectOf(index: number): string;
  readonly keyCount: number;
}

export function createApiKeyVerifier(keys: readonly string[]): ApiKeyVerifier {
  const digests = keys.map(sha256);
  return {
    subjectOf: (index) => `key#${digests[index]!.toString("hex", 0, 12)}`,
    match(presented) {
      const digest = sha256(presented);
      let found: number | undefined;
      for (let i = 0; i < digests.length; i++) {
        // No early exit: the time taken does not tell which key (if any) matched.
        if (timingSafeEqual(digest, digests[i] as Buffer) && found === undefined) found = i;
      }
      return found;
    },
    keyCount: digests.length,
  };
}

/**
 * The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive);
 * undefined without the header; "" when the header holds something else, which matches no key
 * (configured keys are never empty).
 */
export function readBearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^bearer +(\S+) *$/i.exec(authorization);
  return match?.[1] ?? "";
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
