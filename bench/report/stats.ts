// Summaries over repetitions and over samples. Pure functions; no I/O.

/** A figure over repetitions: the median and the range; `count` is how many repetitions produced a number. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

/** Undefined when no repetition produced a finite number. */
export function summarize(values: readonly (number | undefined)[]): Summary | undefined {
  const finite = values.filter((value): value is number => value !== undefined && Number.isFinite(value));
  if (finite.length === 0) return undefined;
  const sorted = [...finite].sort((a, b) => a - b);
  return { median: percentileOfSorted(sorted, 50), min: sorted[0]!, max: sorted[sorted.length - 1]!, count: sorted.length };
}

/** Linear interpolation between closest ranks, on an ascending array; NaN when empty. */
export function percentileOfSorted(sorted: ArrayLike<number>, percent: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (percent / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low]!;
  return lowValue + (sorted[high]! - lowValue) * (rank - low);
}

/** p50 and p99 of samples (copied and sorted; the caller's array is left alone). */
export function percentiles(samples: Float64Array): { p50: number; p99: number } {
  const sorted = Float64Array.from(samples).sort();
  return { p50: percentileOfSorted(sorted, 50), p99: percentileOfSorted(sorted, 99) };
}
