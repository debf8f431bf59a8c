import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

// The soak end to end for a quarter of a minute: turnpike started, allocations churned over UDP and
// TCP, everything deleted, figures compared with the baseline. Only the lines and the exit code are
// asserted, never a speed.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const SOAK = join(ROOT, "dist-soak", "soak", "main.js");

function run(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGINT"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("soak (npm run soak)", () => {
  beforeAll(async () => {
    const build = await run([TSC, "-p", "tsconfig.soak.json"], 60_000);
    expect(build.code, build.output).toBe(0);
  }, 70_000);

  it("churns for --minutes 0.25, deletes everything and prints the figures with a PASS verdict", async () => {
    const { code, output } = await run([SOAK, "--minutes", "0.25", "--rate", "500", "--population", "20"], 90_000);
    expect(output).toMatch(/^\[soak\] baseline: allocations=0 /m);
    expect(output).toMatch(/^\[soak\] minute t=00:00 alloc=/m);
    expect(output).toMatch(/^\[soak\] churn-end t=00:1\d alloc=\d+ .* echoed=[1-9]\d* /m);
    for (const figure of ["allocations", "relay ports in use", "open fds", "relay heap used", "rss"]) {
      expect(output).toMatch(new RegExp(`^\\[soak\\]   ${figure} .* PASS$`, "m"));
    }
    expect(output).toMatch(/^\[soak\] verdict: PASS$/m);
    expect(code, output).toBe(0);
  }, 100_000);

  it("refuses a missing or non-positive --minutes with exit code 2", async () => {
    for (const args of [[], ["--minutes", "0"], ["--minutes", "-1"], ["--minutes", "soon"]]) {
      const { code, output } = await run([SOAK, ...args], 10_000);
      expect(code, output).toBe(2);
      expect(output).toContain("--minutes");
    }
  });
});
