// coturn's turnutils_uclient, relaying through the server under test to coturn's turnutils_peer.
// It is paced by design (one message per client every -z ms, clients starting 1-6 s apart), so it
// measures behaviour under a steady load, not capacity. Its own figures are reported as it prints them.
import { spawn } from "node:child_process";
import { trackChild } from "../children.js";

export type UclientMode = "udp-channel" | "udp-send" | "tcp-channel";

export const UCLIENT_MODES: readonly UclientMode[] = ["udp-channel", "udp-send", "tcp-channel"];

export interface UclientOptions {
  readonly clients: number;
  readonly messagesPerClient: number;
  readonly intervalMs: number;
  readonly timeLimitMs: number;
}

export interface UclientResult {
  readonly mode: UclientMode;
  readonly sent: number;
  readonly received: number;
  readonly lossPercent: number;
  /** uclient's "Total transmit time", whole seconds, from the first client's start to the end. */
  readonly transmitSeconds: number;
  readonly messagesPerSecond: number;
  readonly rttAverageMs: number;
  readonly rttMaxMs: number;
  /** False when it was stopped at the time limit and the figures come from its last progress line. */
  readonly finished: boolean;
  /** Why it was stopped early, when it was. */
  readonly problem?: string;
}

const MODE_FLAGS: Readonly<Record<UclientMode, readonly string[]>> = {
  "udp-channel": [],
  "udp-send": ["-s"],
  "tcp-channel": ["-t"],
};

export async function runUclient(
  server: { readonly host: string; readonly port: number },
  peer: { readonly host: string; readonly port: number },
  credentials: { readonly username: string; readonly password: string },
  mode: UclientMode,
  options: UclientOptions,
): Promise<UclientResult> {
  const args = [
    ...MODE_FLAGS[mode],
    "-u", credentials.username,
    "-w", credentials.password,
    "-p", String(server.port),
    "-e", peer.host,
    "-r", String(peer.port),
    "-n", String(options.messagesPerClient),
    "-m", String(options.clients),
    "-l", "100",
    "-z", String(options.intervalMs),
    "-c", // no RTCP allocations
    server.host,
  ];
  // uclient connects its clients one by one, about 0.1 s apart, then prints "Total connect time";
  // if that line does not come, its allocations are failing and it would retry until the time limit.
  const connectLimitMs = 5_000 + options.clients * 200;
  const { output, finished, stalled } = await runBounded("turnutils_uclient", args, options.timeLimitMs, { text: "Total connect time", withinMs: connectLimitMs });
  const result = parseUclientOutput(mode, output, finished);
  if (stalled) return { ...result, problem: `its allocations did not complete within ${connectLimitMs / 1000} s` };
  if (!result.finished) return { ...result, problem: `no summary within ${options.timeLimitMs / 1000} s` };
  return result;
}

export function parseUclientOutput(mode: UclientMode, output: string, finished: boolean): UclientResult {
  const totals = [...output.matchAll(/tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g)].at(-1);
  const sent = Number(totals?.[1] ?? Number.NaN);
  const received = Math.min(sent, Number(totals?.[2] ?? Number.NaN));
  const transmit = /Total transmit time is (\d+)/.exec(output);
  const rtt = /Average round trip delay ([\d.]+) ms; min = (\d+) ms, max = (\d+) ms/.exec(output);
  const transmitSeconds = Number(transmit?.[1] ?? Number.NaN);
  const complete = finished && transmit !== null;
  return {
    mode,
    sent,
    received,
    lossPercent: sent > 0 ? ((sent - received) / sent) * 100 : Number.NaN,
    transmitSeconds,
    messagesPerSecond: complete ? received / Math.max(1, transmitSeconds) : Number.NaN,
    rttAverageMs: Number(rtt?.[1] ?? Number.NaN),
    rttMaxMs: Number(rtt?.[3] ?? Number.NaN),
    finished: complete,
  };
}

/** Runs to completion or the time limit; stopped early when `expect.text` has not appeared within `expect.withinMs`. */
function runBounded(
  command: string,
  args: readonly string[],
  timeLimitMs: number,
  expect: { readonly text: string; readonly withinMs: number },
): Promise<{ output: string; finished: boolean; stalled: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    trackChild(child);
    let output = "";
    let seen = false;
    const keep = (chunk: Buffer): void => {
      // The summary is at the end; progress lines before it can be dropped.
      output = (output + chunk.toString("latin1")).slice(-64 * 1024);
      seen ||= output.includes(expect.text);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    let timedOut = false;
    let stalled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeLimitMs);
    const watchdog = setTimeout(() => {
      if (seen) return;
      stalled = true;
      timedOut = true;
      child.kill("SIGKILL");
    }, expect.withinMs);
    const done = (): void => {
      clearTimeout(timer);
      clearTimeout(watchdog);
    };
    child.on("error", (error) => {
      done();
      resolve({ output: `${output}\n${error.message}`, finished: false, stalled });
    });
    child.on("close", () => {
      done();
      resolve({ output, finished: !timedOut, stalled });
    });
  });
}
