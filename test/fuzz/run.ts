// npm run fuzz -- --seconds N [--seed S]
// Runs the properties of test/fuzz for about N seconds in all, from seed S (random when not given),
// printed first so that a failure can be replayed with the same command.
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { fileURLToPath } from "node:url";

const USAGE = "usage: npm run fuzz -- --seconds N [--seed S]   (N > 0 seconds in all; S a 32-bit integer)";

function parseArgs(argv: readonly string[]): { seconds: number; seed: number } {
  let seconds = 60;
  let seed = randomInt(-(2 ** 31), 2 ** 31);
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const number = Number(value);
    if (flag === "--seconds" && Number.isFinite(number) && number > 0) seconds = number;
    else if (flag === "--seed" && Number.isInteger(number) && number >= -(2 ** 31) && number < 2 ** 31) seed = number;
    else {
      console.error(USAGE);
      process.exit(2);
    }
  }
  return { seconds, seed };
}

const { seconds, seed } = parseArgs(process.argv.slice(2));
console.log(`fuzz: seed ${seed}, ${seconds} s in all; replay: npm run fuzz -- --seconds ${seconds} --seed ${seed}`);

const root = fileURLToPath(new URL("../../", import.meta.url));
const vitest = fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url));
const child = spawn(process.execPath, [vitest, "run", "test/fuzz"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, FUZZ_SECONDS: String(seconds), FUZZ_SEED: String(seed) },
});
child.on("exit", (code, signal) => {
  if (code !== 0) console.log(`fuzz: failed; replay: npm run fuzz -- --seconds ${seconds} --seed ${seed}`);
  process.exit(code ?? (signal ? 1 : 0));
});
