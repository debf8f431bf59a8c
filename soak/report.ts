// The printed lines: one progress line per interval, then baseline against end with a verdict per figure.
import { metric } from "./metrics.js";
import type { ServerSample } from "./server-process.js";

export interface ServerFigures {
  readonly allocations: number;
  readonly permissions: number;
  readonly channels: number;
  readonly relayHeapUsedBytes: number;
  readonly rssBytes: number;
  readonly openFds: number;
  readonly relayPortsFree: number;
}

export function serverFigures(sample: ServerSample): ServerFigures {
  const m = sample.metrics;
  return {
    allocations: metric(m, "turnpike_allocations"),
    permissions: metric(m, "turnpike_permissions"),
    channels: metric(m, "turnpike_channels"),
    relayHeapUsedBytes: metric(m, "turnpike_relay_heap_used_bytes"),
    rssBytes: metric(m, "process_resident_memory_bytes"),
    openFds: sample.openFds,
    relayPortsFree: m.get("turnpike_relay_ports_free") ?? Number.NaN,
  };
}

export const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)}MB`;

export function formatElapsed(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
}

/**
 * Tolerances of the end-versus-baseline check. The server's heap is read after an idle period,
 * not after a forced GC (it cannot be forced from outside); turnpike_relay_heap_used_bytes is the
 * relay threads' heaps summed, where the allocations live. RSS gets a wide margin: V8 and the
 * allocator keep freed pages, so RSS may stay above baseline without a leak.
 */
export const TOLERANCE = {
  relayHeapUsedBytes: 8 * 2 ** 20,
  rssBytes: 128 * 2 ** 20,
  openFds: 5,
  relayPortsInUse: 0,
} as const;

export interface Check {
  readonly figure: string;
  readonly baseline: string;
  readonly end: string;
  readonly rule: string;
  readonly pass: boolean;
}

export function compare(baseline: ServerFigures, end: ServerFigures): Check[] {
  const used = (f: ServerFigures): number => baseline.relayPortsFree - f.relayPortsFree;
  return [
    { figure: "allocations", baseline: String(baseline.allocations), end: String(end.allocations), rule: "= 0", pass: end.allocations === 0 },
    { figure: "permissions", baseline: String(baseline.permissions), end: String(end.permissions), rule: "= 0", pass: end.permissions === 0 },
    { figure: "channels", baseline: String(baseline.channels), end: String(end.channels), rule: "= 0", pass: end.channels === 0 },
    {
      figure: "relay ports in use",
      baseline: String(used(baseline)),
      end: String(used(end)),
      rule: `<= baseline + ${TOLERANCE.relayPortsInUse}`,
      pass: used(end) <= TOLERANCE.relayPortsInUse,
    },
    {
      figure: "open fds",
      baseline: String(baseline.openFds),
      end: String(end.openFds),
      rule: `<= baseline + ${TOLERANCE.openFds}`,
      pass: end.openFds <= baseline.openFds + TOLERANCE.openFds,
    },
    {
      figure: "relay heap used",
      baseline: mb(baseline.relayHeapUsedBytes),
      end: mb(end.relayHeapUsedBytes),
      rule: `<= baseline + ${mb(TOLERANCE.relayHeapUsedBytes)}`,
      pass: end.relayHeapUsedBytes <= baseline.relayHeapUsedBytes + TOLERANCE.relayHeapUsedBytes,
    },
    {
      figure: "rss",
      baseline: mb(baseline.rssBytes),
      end: mb(end.rssBytes),
      rule: `<= baseline + ${mb(TOLERANCE.rssBytes)}`,
      pass: end.rssBytes <= baseline.rssBytes + TOLERANCE.rssBytes,
    },
  ];
}

export function formatChecks(checks: readonly Check[]): string[] {
  const rows = [["figure", "baseline", "end", "tolerance", "verdict"], ...checks.map((c) => [c.figure, c.baseline, c.end, c.rule, c.pass ? "PASS" : "FAIL"])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
}
