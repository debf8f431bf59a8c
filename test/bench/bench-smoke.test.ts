import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The benchmark end to end with tiny loads (--smoke): every server started, every load run, one table
// printed. A benchmark is not a unit test: only "a number came out" is asserted, never a speed.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const LATEST = join(ROOT, "bench", "results", "latest.md");

function run(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGINT"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The markdown table: header cells, and each row's cells by header. */
function parseTable(output: string): Map<string, Map<string, string>> {
  const lines = output.split("\n").filter((line) => line.startsWith("| "));
  const cellsOf = (line: string): string[] => line.slice(2, -2).split(" | ").map((cell) => cell.trim());
  const header = cellsOf(lines[0] ?? "");
  const rows = new Map<string, Map<string, string>>();
  for (const line of lines.slice(1)) {
    const cells = cellsOf(line);
    rows.set(cells[0] ?? "", new Map(header.map((name, i) => [name, cells[i] ?? ""])));
  }
  return rows;
}

/** The median at the start of a cell: "51.4k (49.0k–52.3k)" -> 51400; "8.91" -> 8.91. */
function leadingNumber(cell: string | undefined): number {
  const match = /^(-?[\d.]+)([kM]?)/.exec(cell ?? "");
  if (match === null) return Number.NaN;
  return Number(match[1]) * (match[2] === "M" ? 1e6 : match[2] === "k" ? 1e3 : 1);
}

function column(row: Map<string, string>, prefix: string): string | undefined {
  for (const [name, cell] of row) if (name.startsWith(prefix)) return cell;
  return undefined;
}

/** The column is there and its median is a finite number above zero. */
function expectPositive(row: Map<string, string>, label: string, prefix: string): void {
  const cell = column(row, prefix);
  expect(cell, `${label}: no column "${prefix}"`).toBeDefined();
  const value = leadingNumber(cell);
  expect(value, `${label} ${prefix}: ${cell}`).toBeGreaterThan(0);
  expect(Number.isFinite(value), `${label} ${prefix}: ${cell}`).toBe(true);
}

describe("npm run bench -- --quick --smoke --churn-passes 3", () => {
  it("prints one table in which turnpike, coturn and the bare forwarder echo packets at a finite CPU cost in every mode they have", async () => {
    const before = existsSync(LATEST) ? readFileSync(LATEST, "utf8") : undefined;
    const compiled = await run([TSC, "-p", "tsconfig.bench.json"], 60_000);
    expect(compiled.code, compiled.stdout + compiled.stderr).toBe(0);

    const bench = await run(["dist-bench/bench/main.js", "--quick", "--smoke", "--churn-passes", "3", "--servers", "turnpike,coturn,bare"], 100_000);
    expect(bench.code, bench.stderr.slice(-3000)).toBe(0);
    const rows = parseTable(bench.stdout);
    const labels = [...rows.keys()];
    expect(labels.some((label) => label.startsWith("turnpike")), bench.stdout).toBe(true);
    expect(labels.some((label) => label.startsWith("coturn")), bench.stdout).toBe(true);
    expect(labels).toContain("bare dgram forwarder");

    for (const [label, row] of rows) {
      // A peer missing on this machine says so instead of showing numbers.
      if ([...row.values()].includes("not installed")) continue;
      expectPositive(row, label, "UDP echoed msg/s");
      expectPositive(row, label, "CPU µs / relayed datagram, UDP ¹");
      if (label.startsWith("bare")) {
        // One CPU figure, UDP with the raw payload, which every mode of the others is compared to.
        expect(column(row, "UDP Send/Data echoed msg/s"), label).toBe("n/a");
        expect(column(row, "CPU µs / relayed datagram, UDP Send/Data"), label).toBe("n/a");
        expect(column(row, "CPU µs / relayed datagram, TCP"), label).toBe("n/a");
      } else {
        expectPositive(row, label, "UDP Send/Data echoed msg/s");
        expectPositive(row, label, "TCP echoed msg/s");
        expectPositive(row, label, "CPU µs / relayed datagram, UDP Send/Data");
        expectPositive(row, label, "CPU µs / relayed datagram, TCP");
        expectPositive(row, label, "Allocations/s");
        // Two figures: the first pass on a fresh server, and the last of three on the same server.
        expect([...row.keys()].find((name) => name.startsWith("Allocations/s")), label).toMatch(/1st \/ 3rd pass$/);
        const passes = (column(row, "Allocations/s") ?? "").split(" / ").map(leadingNumber);
        expect(passes, `${label} Allocations/s: ${column(row, "Allocations/s")}`).toHaveLength(2);
        for (const pass of passes) expect(pass, `${label} Allocations/s`).toBeGreaterThan(0);
        // 20 allocations may fit in one of /proc's 10 ms ticks: a figure for each pass, zero allowed.
        const cpu = column(row, "Server CPU µs / allocation") ?? "";
        const cpuPasses = cpu.split(" / ").map(leadingNumber);
        expect(cpuPasses, `${label} Server CPU µs / allocation: ${cpu}`).toHaveLength(2);
        for (const pass of cpuPasses) expect(pass >= 0 && Number.isFinite(pass), `${label} Server CPU µs / allocation: ${cpu}`).toBe(true);
        expectPositive(row, label, "Binding req/s");
      }
    }
    const ratio = String.raw`x\d+\.\d\d`;
    expect(bench.stdout).toMatch(
      new RegExp(`vs bare forwarder CPU per datagram: UDP ChannelData ${ratio} · UDP Send/Data ${ratio} · TCP ChannelData ${ratio}`),
    );
    expect(bench.stdout).toMatch(new RegExp(`vs coturn allocations/s: 1st pass ${ratio} · 3rd pass ${ratio}`));
    // 20 allocations may cost coturn under one of /proc's 10 ms ticks: a ratio, or n/a for a zero.
    const cpuRatio = String.raw`(x\d+\.\d\d|n/a \(missing figure\))`;
    expect(bench.stdout).toMatch(new RegExp(`vs coturn server CPU per allocation: 1st pass ${cpuRatio} · 3rd pass ${cpuRatio}  $`, "m"));
    expect(bench.stdout).toMatch(/while allocating \(1st \/ 3rd pass\) the server used [\d.]+/);
    // --smoke leaves the recorded results alone.
    expect(existsSync(LATEST) ? readFileSync(LATEST, "utf8") : undefined).toBe(before);
  }, 150_000);
});
