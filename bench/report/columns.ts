// The table's columns: what each figure is, for which servers it applies, how a cell is written.
import type { MemoryReading } from "../load/allocation-churn.js";
import type { FloodResult } from "../load/flood.js";
import type { UclientMode } from "../load/uclient.js";
import type { Profile } from "../options.js";
import type { PeerVariant } from "../peers/peer-specs.js";
import type { ServerRunResult } from "../run-server.js";
import { fixed, formatSummary, kibibytes, mebibytes, ordinal, percent, rate, type Format } from "./format.js";
import { summarize } from "./stats.js";

export interface Column {
  readonly header: string;
  applies(variant: PeerVariant): boolean;
  /** Shows "not installed" without coturn's turnutils_uclient and turnutils_peer. */
  readonly requiresUclient?: boolean;
  cell(runs: readonly ServerRunResult[]): string;
}

export interface ColumnContext {
  readonly uclientInstalled: boolean;
}

type Extract = (run: ServerRunResult) => number | undefined;

const FAILED = "failed";

function figure(extract: Extract, format: Format): (runs: readonly ServerRunResult[]) => string {
  return (runs) => formatSummary(summarize(runs.map(extract)), format) ?? FAILED;
}

/** Two figures in one cell, "a / b". */
function figures(first: Extract, second: Extract, format: Format): (runs: readonly ServerRunResult[]) => string {
  return (runs) => `${figure(first, format)(runs)} / ${figure(second, format)(runs)}`;
}

const always = (): boolean => true;
const turnOnly = (variant: PeerVariant): boolean => variant.speaksTurn;
const tcpOnly = (variant: PeerVariant): boolean => variant.tcp;

/**
 * The relay paths measured by a flood of their own, each with an echoed rate and a CPU cost per datagram.
 * "UDP" is ChannelData, except for the bare forwarder (the raw payload) and node-turn (Send/Data, footnote 5).
 */
export interface RelayMode {
  /** As the ratio lines name it. */
  readonly name: string;
  /** As the column headers name it. */
  readonly header: string;
  applies(variant: PeerVariant): boolean;
  flood(run: ServerRunResult): FloodResult | undefined;
}

const UDP_MODE: RelayMode = { name: "UDP ChannelData", header: "UDP", applies: always, flood: (run) => run.udp };
const SEND_MODE: RelayMode = { name: "UDP Send/Data", header: "UDP Send/Data", applies: turnOnly, flood: (run) => run.udpSend };
const TCP_MODE: RelayMode = { name: "TCP ChannelData", header: "TCP", applies: tcpOnly, flood: (run) => run.tcp };
export const RELAY_MODES: readonly RelayMode[] = [UDP_MODE, SEND_MODE, TCP_MODE];

export function cpuMicrosPerDatagram(run: ServerRunResult, mode: RelayMode): number | undefined {
  return mode.flood(run)?.best?.cpuMicrosPerDatagram;
}

function echoedColumn(mode: RelayMode): Column {
  return {
    header: `${mode.header} echoed msg/s (<1% loss)`,
    applies: mode.applies,
    cell: figure((run) => mode.flood(run)?.best?.echoedPerSecond, rate),
  };
}

function cpuColumn(mode: RelayMode): Column {
  return {
    header: `CPU µs / relayed datagram, ${mode.header} ¹`,
    applies: mode.applies,
    cell: figure((run) => cpuMicrosPerDatagram(run, mode), fixed(2)),
  };
}

/** Growth per allocation while N idle allocations are held. */
function perAllocation(run: ServerRunResult, field: keyof MemoryReading): number | undefined {
  const churn = run.churn;
  const loaded = churn?.loaded[field];
  const idle = churn?.idle[field];
  if (churn === undefined || loaded === undefined || idle === undefined || churn.allocated === 0) return undefined;
  return (loaded - idle) / churn.allocated;
}

/** Share of that growth gone after the deletions. */
function returned(run: ServerRunResult, field: keyof MemoryReading): number | undefined {
  const churn = run.churn;
  const loaded = churn?.loaded[field];
  const idle = churn?.idle[field];
  const after = churn?.afterDeletion[field];
  if (loaded === undefined || idle === undefined || after === undefined || loaded <= idle) return undefined;
  return ((loaded - after) / (loaded - idle)) * 100;
}

function uclientColumn(mode: UclientMode, header: string): Column {
  const part = (extract: Extract, format: Format) => figure(extract, format);
  const messages = part((run) => run.uclient[mode]?.messagesPerSecond, rate);
  const loss = part((run) => run.uclient[mode]?.lossPercent, percent(1));
  const rtt = part((run) => run.uclient[mode]?.rttAverageMs, fixed(2));
  const rttMax = part((run) => run.uclient[mode]?.rttMaxMs, fixed(0));
  return {
    header,
    applies: (variant) => variant.speaksTurn && (mode !== "tcp-channel" || variant.tcp),
    requiresUclient: true,
    cell: (runs) => {
      const parts = [messages(runs), loss(runs), rtt(runs), rttMax(runs)];
      return parts.every((text) => text === FAILED) ? FAILED : `${parts[0]}/s · ${parts[1]} · ${parts[2]} / ${parts[3]} ms`;
    },
  };
}

export function tableColumns(profile: Profile): Column[] {
  const pacedRate = rate(profile.paced.ratePerSecond);
  const passes = `1st / ${ordinal(profile.churn.passes)} pass`;
  return [
    echoedColumn(UDP_MODE),
    {
      header: "Loss at saturation",
      applies: always,
      cell: figure((run) => (run.udp?.saturation === undefined ? undefined : run.udp.saturation.loss * 100), percent(1)),
    },
    echoedColumn(SEND_MODE),
    echoedColumn(TCP_MODE),
    {
      header: `RTT p50 / p99 µs @ ${pacedRate} msg/s`,
      applies: always,
      cell: figures((run) => run.paced?.p50Micros, (run) => run.paced?.p99Micros, fixed(0)),
    },
    ...RELAY_MODES.map(cpuColumn),
    {
      header: "RSS MiB idle / load",
      applies: always,
      cell: figures((run) => run.idleRssBytes, (run) => run.udp?.peakRssBytes, mebibytes),
    },
    {
      header: `Allocations/s (K=${profile.churn.concurrency}), ${passes}`,
      applies: turnOnly,
      cell: figures((run) => run.churn?.allocationsPerSecond, (run) => run.churn?.lastPass?.allocationsPerSecond, rate),
    },
    {
      header: `Server CPU µs / allocation, ${passes} ⁶`,
      applies: turnOnly,
      cell: figures(
        (run) => run.churn?.allocationCpu.serverMicrosPerAllocation,
        (run) => run.churn?.lastPass?.allocationCpu.serverMicrosPerAllocation,
        fixed(0),
      ),
    },
    {
      header: `Deletions/s, ${passes}`,
      applies: turnOnly,
      cell: figures((run) => run.churn?.deletionsPerSecond, (run) => run.churn?.lastPass?.deletionsPerSecond, rate),
    },
    {
      header: "RSS KiB / allocation ²",
      applies: turnOnly,
      cell: figure((run) => perAllocation(run, "rssBytes"), kibibytes),
    },
    {
      header: "Heap KiB / allocation ²",
      applies: (variant) => variant.speaksTurn && variant.id !== "coturn",
      cell: figure((run) => perAllocation(run, "heapUsedBytes"), kibibytes),
    },
    {
      header: "Returned after deletion (RSS; heap) ³",
      applies: turnOnly,
      cell: (runs) => {
        const rss = figure((run) => returned(run, "rssBytes"), percent(0))(runs);
        const heap = formatSummary(summarize(runs.map((run) => returned(run, "heapUsedBytes"))), percent(0));
        return heap === undefined ? rss : `${rss}; ${heap}`;
      },
    },
    {
      header: "Binding req/s",
      applies: turnOnly,
      cell: figure((run) => run.binding?.answersPerSecond, rate),
    },
    uclientColumn("udp-channel", "uclient UDP ChannelData ⁴"),
    uclientColumn("udp-send", "uclient UDP Send ⁴"),
    uclientColumn("tcp-channel", "uclient TCP ChannelData ⁴"),
  ];
}
