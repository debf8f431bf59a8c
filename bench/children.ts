// Every process the benchmark starts, so that an interrupted run still ends them (by their own pid).
import type { ChildProcess } from "node:child_process";

const live = new Set<ChildProcess>();

export function trackChild(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/** SIGKILL to each child still running; for interrupted runs only (normal paths stop their own). */
export function killChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  live.clear();
}
