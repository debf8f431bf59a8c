// The printed result: one markdown table (a row per server), the ratio lines, and footnotes that
// say how each figure was measured and where each process ran.
import type { FloodResult } from "../load/flood.js";
import type { Profile } from "../options.js";
import type { PeerVariant } from "../peers/peer-specs.js";
import type { ServerRunResult } from "../run-server.js";
import { cpuMicrosPerDatagram, RELAY_MODES, tableColumns, type ColumnContext } from "./columns.js";
import { fixed, formatSummary, ordinal, rate } from "./format.js";
import { summarize } from "./stats.js";

export interface ReportInput {
  readonly profile: Profile;
  readonly variants: readonly PeerVariant[];
  /** By variant key, one entry per repetition that ran. */
  readonly results: ReadonlyMap<string, readonly ServerRunResult[]>;
  /** The load side alone, once per repetition. */
  readonly ceilings: readonly (FloodResult | undefined)[];
  readonly uclientInstalled: boolean;
  readonly environment: {
    readonly date: string;
    readonly cpu: string;
    readonly cores: number;
    readonly node: string;
    readonly totalSeconds: number;
    readonly repetitionsDone: number;
  };
}

export function formatReport(input: ReportInput): string {
  const { profile, environment } = input;
  const context: ColumnContext = { uclientInstalled: input.uclientInstalled };
  const columns = tableColumns(profile);
  const lines: string[] = [];
  lines.push(`# turnpike benchmark (${profile.name})`, "");
  lines.push(
    `${environment.date}; ${environment.cpu}, ${environment.cores} cores; Node ${environment.node}; ` +
      `${environment.repetitionsDone} interleaved repetition(s) of ${profile.repetitions}; ${Math.round(environment.totalSeconds)} s in all. ` +
      `Cells: median (min–max) over repetitions.`,
    "",
  );
  lines.push(`| Server | ${columns.map((column) => column.header).join(" | ")} |`);
  lines.push(`|---|${columns.map(() => "---").join("|")}|`);
  for (const variant of input.variants) {
    const runs = input.results.get(variant.key) ?? [];
    let cells: string[];
    if (variant.unavailable !== undefined) cells = columns.map((_, i) => (i === 0 ? variant.unavailable! : ""));
    else if (runs.length === 0) cells = columns.map((_, i) => (i === 0 ? "not run" : ""));
    else
      cells = columns.map((column) =>
        !column.applies(variant) ? "n/a" : column.requiresUclient === true && !context.uclientInstalled ? "not installed" : column.cell(runs),
      );
    lines.push(`| ${variant.label}${variant.caveat === undefined ? "" : " ⁵"} | ${cells.join(" | ")} |`);
  }
  lines.push("", ...ratioLines(input), "");
  lines.push(...footnotes(input), "");
  lines.push(...serverNotes(input));
  return lines.join("\n") + "\n";
}

function median(input: ReportInput, key: string, extract: (run: ServerRunResult) => number | undefined): number | undefined {
  return summarize((input.results.get(key) ?? []).map(extract))?.median;
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? "n/a (missing figure)" : `x${(a / b).toFixed(2)}`;
}

/** Each mode's CPU per datagram against the bare forwarder's one figure (UDP, raw payload). */
function cpuRatios(input: ReportInput, key: string): string {
  const bare = median(input, "bare", (run) => run.udp?.best?.cpuMicrosPerDatagram);
  if (bare === undefined) return "n/a (no bare forwarder figure)";
  return RELAY_MODES.map((mode) => `${mode.name} ${ratio(median(input, key, (run) => cpuMicrosPerDatagram(run, mode)), bare)}`).join(" · ");
}

function ratioLines(input: ReportInput): string[] {
  const lines: string[] = [];
  const turnpikes = input.variants.filter((variant) => variant.id === "turnpike");
  const echoed = (run: ServerRunResult): number | undefined => run.udp?.best?.echoedPerSecond;
  const firstPass = (run: ServerRunResult): number | undefined => run.churn?.allocationsPerSecond;
  const last = `${ordinal(input.profile.churn.passes)} pass`;
  const lastPass = (run: ServerRunResult): number | undefined => run.churn?.lastPass?.allocationsPerSecond;
  const firstPassCpu = (run: ServerRunResult): number | undefined => run.churn?.allocationCpu.serverMicrosPerAllocation;
  const lastPassCpu = (run: ServerRunResult): number | undefined => run.churn?.lastPass?.allocationCpu.serverMicrosPerAllocation;
  const vsCoturn = (key: string, extract: (run: ServerRunResult) => number | undefined): string =>
    ratio(median(input, key, extract), median(input, "coturn", extract));
  for (const turnpike of turnpikes) {
    const name = turnpikes.length > 1 ? turnpike.label : "turnpike";
    lines.push(`${name} vs bare forwarder CPU per datagram: ${cpuRatios(input, turnpike.key)}  `);
    lines.push(`${name} vs coturn echoed msg/s: ${vsCoturn(turnpike.key, echoed)}  `);
    lines.push(`${name} vs coturn allocations/s: 1st pass ${vsCoturn(turnpike.key, firstPass)} · ${last} ${vsCoturn(turnpike.key, lastPass)}  `);
    lines.push(
      `${name} vs coturn server CPU per allocation: 1st pass ${vsCoturn(turnpike.key, firstPassCpu)} · ${last} ${vsCoturn(turnpike.key, lastPassCpu)}  `,
    );
  }
  return lines;
}

function footnotes(input: ReportInput): string[] {
  const { profile } = input;
  const { flood, paced, binding, churn, uclient } = profile;
  const ceiling = formatSummary(summarize(input.ceilings.map((result) => result?.best?.echoedPerSecond)), rate);
  return [
    "How each figure is measured:",
    `- **Echoed msg/s**: the bench's own generator keeps a window of W packets (${profile.payloadBytes}-byte payloads) in flight on each of ${flood.flows} allocations (one ChannelData channel each, bound to a UDP echo peer), ` +
      `W = ${flood.windows.join(", ")}; ${flood.stepMs} ms per step after ${flood.warmupMs} ms of warm-up; an echo later than ${flood.timeoutMs} ms counts as lost. ` +
      `Each step is drained before the next, so its loss is exact; stepping stops after two steps in a row past ${flood.lossLimit * 100}% loss. ` +
      `Reported: the highest echoed rate of a step with ≤ ${flood.lossLimit * 100}% loss. **Loss at saturation**: the loss of the last UDP step run (the second past the limit, or the largest window). ` +
      `**UDP Send/Data**: the same on ${flood.flows} allocations of its own, each with a permission for the echo peer instead of a channel: Send indications (XOR-PEER-ADDRESS, DATA) out, Data indications back. ` +
      `**TCP**: the same, with ChannelData over a TCP connection to the server and UDP to the peer. ` +
      `The bare forwarder gets the raw payload instead of ChannelData.`,
    `- **RTT**: ${rate(paced.ratePerSecond)} msg/s offered over ${paced.flows} allocations for ${paced.durationMs} ms, sent on a 1 ms timer (so in bursts of about ${Math.max(1, Math.round(paced.ratePerSecond / 1000))}); p50/p99 of every echo's round trip, in µs.`,
    "- ¹ **CPU per relayed datagram**, one figure per mode (UDP, UDP Send/Data, TCP): utime+stime from /proc/<pid>/stat of the server (all its threads, and any child processes), " +
      "over the measurement window of the step reported as that mode's echoed msg/s, divided by the datagrams the server relayed in that window, **counting both directions**: " +
      "client→peer (as counted by the echo peer) plus peer→client (as counted by the generator; over TCP, ChannelData frames). /proc counts in 10 ms ticks. " +
      "The bare forwarder has one figure (UDP, raw payload); the ratio lines compare each of turnpike's modes to it, TCP ChannelData included (the forwarder has no TCP, so TCP is compared to its UDP figure).",
    "- **RSS**: VmRSS from /proc/<pid>/status: idle after start, and the peak sampled every 200 ms during the UDP flood.",
    `- **Allocations/s**: ${churn.count.toLocaleString("en-US")} client sockets, each bound to an address of its own (127.1.x.y, then 127.2.x.y, so that limits per source address see one client each), each do the full Allocate (unauthenticated, 401 with NONCE and REALM, then signed), ${churn.concurrency} in flight; ` +
      `**Deletions/s**: Refresh with LIFETIME 0 for all of them, ${churn.concurrency} in flight. ` +
      `**1st / ${ordinal(churn.passes)} pass**: the first pass is the server's first ${churn.count.toLocaleString("en-US")} allocations (a Node.js server's allocation code is still being compiled); after the memory readings (whose full GCs, forced in a Node.js server, undo part of its warm-up: the pass right after them is slower than a pass after none), ` +
      (churn.passes === 2
        ? `${churn.count.toLocaleString("en-US")} new clients (addresses of their own again) allocate and delete once more, timed the same way.`
        : `${churn.passes - 1} more passes of ${churn.count.toLocaleString("en-US")} new clients each (addresses of their own again) allocate and delete, timed the same way; the last is reported.`),
    `- ² **Memory per allocation**: (memory with those ${churn.count.toLocaleString("en-US")} allocations idle, each with a channel and hence a permission) − (memory before them), ÷ their number. ` +
      "For the Node.js servers both readings follow a full GC, run by a probe preloaded into the server process (node --expose-gc --import) that answers over an IPC channel; " +
      "heap = V8 heapUsed summed over the main thread and any worker threads. coturn has no heap figure.",
    `- ³ **Returned**: the share of that growth gone ${churn.settleMs} ms after the deletions and the closing of the client sockets. Over 100%: the server gave back more than the allocations had added (memory it held from before them, such as its start's garbage).`,
    "- ⁶ **Server CPU per allocation**: the server's utime+stime (all threads) over a pass's allocating, ÷ the allocations made: what one 401 round trip and one authenticated Allocate cost it, " +
      "whatever the generator (one Node.js event loop, sharing the 2 cores) allowed. The notes give how busy each was.",
    "- **Binding req/s**: " + `${binding.sockets} UDP sockets × ${binding.windowPerSocket} Binding requests in flight, each answer sends the next; answers counted over ${binding.durationMs} ms.`,
    `- ⁴ **uclient**: coturn's turnutils_uclient -m ${uclient.clients} -n ${uclient.messagesPerClient} -l 100 -z ${uclient.intervalMs} -c to turnutils_peer (ChannelData; -s Send/Data indications; -t TCP), ` +
      "the three modes at the same time. It is paced by design and starts its clients 1–6 s apart: msg/s = messages received ÷ its \"Total transmit time\" (whole seconds), " +
      "loss and RTT as it prints them (its clock has 1 ms resolution). Cell: msg/s · loss · average / max RTT.",
    ...input.variants.flatMap((variant) => (variant.caveat === undefined ? [] : [`- ⁵ **${variant.label}**: ${variant.caveat}.`])),
    "- **n/a**: not applicable (the bare forwarder speaks no TURN; node-turn has no TCP listener). **failed**: the load ran and produced no number; see the notes.",
    "",
    "What runs where (2 cores, no pinning; the kernel schedules): the generator is one Node.js process (this one, one event loop: at most one core); " +
      "the echo peer is a second Node.js process; the server under test is a third, one at a time (coturn with 2 relay threads plus its listener and auth threads; turnpike's relay threads are worker threads). " +
      "turnutils_uclient and turnutils_peer run only during the uclient columns. Everything talks over 127.0.0.1. " +
      "A closed loop on 2 shared cores measures the whole system: the notes give how busy each process was.",
    ceiling === undefined
      ? ""
      : `Load-side ceiling (generator ↔ echo peer directly, no relay, same windows, at the start of each repetition): ${ceiling} echoed msg/s at ≤ ${flood.lossLimit * 100}% loss.`,
  ];
}

function serverNotes(input: ReportInput): string[] {
  const lines = ["Notes per server:"];
  for (const variant of input.variants) {
    const runs = input.results.get(variant.key) ?? [];
    if (runs.length === 0) continue;
    const best = runs.map((run) => run.udp?.best).filter((step) => step !== undefined);
    const cores = (pick: (step: (typeof best)[number]) => number): string => formatSummary(summarize(best.map(pick)), fixed(2)) ?? "?";
    const windows = [...new Set(best.map((step) => step.windowPerFlow * step.flows))].join(", ");
    const threads = [...new Set(runs.map((run) => run.threads).filter((count) => count !== undefined))].join(", ");
    const errors = [...new Set(runs.flatMap((run) => run.errors))];
    const seconds = formatSummary(summarize(runs.map((run) => run.seconds)), fixed(0));
    let note = `- ${variant.label}: ${runs.length} run(s) of ${seconds} s`;
    if (threads !== "") note += `; ${threads} threads under load`;
    if (best.length > 0) {
      note +=
        `; at the reported UDP step (${windows} in flight) the server used ${cores((step) => step.loadSide.serverCores)} cores, ` +
        `the generator ${cores((step) => step.loadSide.generatorCores)}, the echo peer ${cores((step) => step.loadSide.echoPeerCores)}`;
    }
    const churnCores = (pick: (run: ServerRunResult) => number | undefined): string => formatSummary(summarize(runs.map(pick)), fixed(2)) ?? "?";
    if (runs.some((run) => run.churn !== undefined)) {
      note +=
        `; while allocating (1st / ${ordinal(input.profile.churn.passes)} pass) the server used ${churnCores((run) => run.churn?.allocationCpu.serverCores)} / ` +
        `${churnCores((run) => run.churn?.lastPass?.allocationCpu.serverCores)} cores, the generator ` +
        `${churnCores((run) => run.churn?.allocationCpu.generatorCores)} / ${churnCores((run) => run.churn?.lastPass?.allocationCpu.generatorCores)}`;
    }
    if (errors.length > 0) note += `; problems: ${errors.join("; ")}`;
    lines.push(note);
  }
  return lines;
}
