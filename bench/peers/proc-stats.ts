// CPU time and resident memory of a process and its descendants, from /proc (Linux only).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** utime and stime in /proc/<pid>/stat count USER_HZ ticks. */
export const TICKS_PER_SECOND = readTicksPerSecond();

export interface ProcessSample {
  /** utime + stime of every thread of the process and of its live descendants, in microseconds. */
  readonly cpuMicros: number;
  /** VmRSS summed over the same processes, in bytes. */
  readonly rssBytes: number;
  /** How many processes were summed (1 unless the server runs child processes). */
  readonly processes: number;
}

/** The process and its descendants now (a scan of /proc; cache it rather than call it per packet). */
export function processTree(rootPid: number): number[] {
  return [rootPid, ...descendantsOf(rootPid)];
}

/** Sums over `pids`, the first being the root; undefined when the root is gone. */
export function sampleProcesses(pids: readonly number[]): ProcessSample | undefined {
  let ticks = 0;
  let rssBytes = 0;
  let processes = 0;
  for (const [index, pid] of pids.entries()) {
    const stat = readStat(pid);
    if (stat === undefined) {
      if (index === 0) return undefined;
      continue;
    }
    ticks += stat.utime + stat.stime;
    rssBytes += readRssBytes(pid) ?? 0;
    processes++;
  }
  return { cpuMicros: (ticks * 1_000_000) / TICKS_PER_SECOND, rssBytes, processes };
}

/** Threads of one process (coturn's relay threads show here). */
export function threadCount(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return undefined;
  }
}

function descendantsOf(rootPid: number): number[] {
  const childrenByParent = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    const siblings = childrenByParent.get(stat.ppid);
    if (siblings === undefined) childrenByParent.set(stat.ppid, [Number(entry)]);
    else siblings.push(Number(entry));
  }
  const found: number[] = [];
  const queue = [rootPid];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    for (const child of childrenByParent.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function readStat(pid: number): { ppid: number; utime: number; stime: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so split after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // proc(5): ppid is field 4, utime 14, stime 15; fields[0] here is field 3.
  return { ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
}

function readRssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

function readTicksPerSecond(): number {
  try {
    const value = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isInteger(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}
