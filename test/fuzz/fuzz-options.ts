import type fc from "fast-check";

/**
 * How long and with which seed the fuzz properties run. Under `npm test` each property runs a fixed,
 * small number of cases; `npm run fuzz -- --seconds N [--seed S]` sets FUZZ_SECONDS and FUZZ_SEED, and
 * then each property runs until its share of the time is spent, from the printed seed.
 */
const seconds = Number(process.env.FUZZ_SECONDS ?? "0");
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** Properties under test/fuzz, for sharing the time budget; keep in step with the files. */
const PROPERTY_COUNT = 12;

export const isLongRun = Number.isFinite(seconds) && seconds > 0;
const budgetMs = isLongRun ? Math.max(1000, (seconds * 1000) / PROPERTY_COUNT) : 0;

/** fast-check parameters: `numRuns` cases under `npm test`; the time budget under `npm run fuzz`. */
export function fuzzParameters<T>(numRuns: number): fc.Parameters<T> {
  return {
    ...(seed !== undefined && Number.isInteger(seed) ? { seed } : {}),
    ...(isLongRun ? { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: budgetMs, markInterruptAsFailure: false } : { numRuns }),
  };
}

/** The vitest timeout for one property: its share of the budget plus slack for setup and shrinking. */
export function fuzzTimeout(normalMs = 20_000): number {
  return isLongRun ? budgetMs + 60_000 : normalMs;
}
