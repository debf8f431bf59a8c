// Number and cell formatting for the table.
import type { Summary } from "./stats.js";

export type Format = (value: number) => string;

/** 3 significant figures with k/M: 842, 8.42k, 84.2k, 1.23M. */
export const rate: Format = (value) => {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e5) return `${(value / 1e3).toFixed(0)}k`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)}k`;
  return value.toFixed(0);
};

export const fixed =
  (digits: number): Format =>
  (value) =>
    value.toFixed(digits);

export const percent =
  (digits: number): Format =>
  (value) =>
    `${withoutNegativeZero(value.toFixed(digits))}%`;

/** "-0" and "-0.0" read as a sign that is not there. */
function withoutNegativeZero(text: string): string {
  return /^-0(\.0+)?$/.test(text) ? text.slice(1) : text;
}

export const mebibytes: Format = (bytes) => (bytes / 1024 / 1024).toFixed(1);

export const kibibytes: Format = (bytes) => (bytes / 1024).toFixed(2);

/** "median (min–max)", or the median alone for one repetition or a zero-width range. */
export function formatSummary(summary: Summary | undefined, format: Format): string | undefined {
  if (summary === undefined) return undefined;
  const median = format(summary.median);
  const low = format(summary.min);
  const high = format(summary.max);
  return summary.count < 2 || low === high ? median : `${median} (${low}–${high})`;
}

/** "2nd", "3rd", "4th" … "10th": the ordinal of a pass. */
export function ordinal(n: number): string {
  if (n % 100 >= 11 && n % 100 <= 13) return `${n}th`;
  return `${n}${n % 10 === 1 ? "st" : n % 10 === 2 ? "nd" : n % 10 === 3 ? "rd" : "th"}`;
}
