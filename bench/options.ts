// Command line and the three profiles: full (npm run bench), --quick (development) and --smoke (npm test).
import { PEER_IDS, type PeerId } from "./peers/peer-specs.js";

export type ProfileName = "full" | "quick" | "smoke";

export interface Profile {
  readonly name: ProfileName;
  readonly repetitions: number;
  /** A repetition starts only if it should end within this (judged by the one before); the first always runs. */
  readonly runTimeLimitMs: number;
  readonly payloadBytes: number;
  readonly flood: {
    readonly flows: number;
    readonly windows: readonly number[];
    readonly warmupMs: number;
    readonly stepMs: number;
    readonly timeoutMs: number;
    readonly lossLimit: number;
  };
  readonly paced: { readonly flows: number; readonly ratePerSecond: number; readonly durationMs: number; readonly timeoutMs: number };
  readonly binding: { readonly sockets: number; readonly windowPerSocket: number; readonly warmupMs: number; readonly durationMs: number };
  readonly churn: { readonly count: number; readonly concurrency: number; readonly settleMs: number; readonly timeLimitMs: number; readonly passes: number };
  readonly uclient: { readonly clients: number; readonly messagesPerClient: number; readonly intervalMs: number; readonly timeLimitMs: number };
}

export interface BenchOptions {
  readonly profile: Profile;
  readonly servers: readonly PeerId[];
  /** Every flood step on stderr as it happens. */
  readonly verbose: boolean;
  /** A plain full run, the one bench/results/latest.md records; any option that changes what is measured leaves it alone. */
  readonly recordsResults: boolean;
}

const FULL: Profile = {
  name: "full",
  repetitions: 3,
  runTimeLimitMs: 540_000,
  payloadBytes: 100,
  flood: { flows: 8, windows: [4, 8, 16, 32, 64, 128, 256], warmupMs: 100, stepMs: 800, timeoutMs: 250, lossLimit: 0.01 },
  paced: { flows: 4, ratePerSecond: 5_000, durationMs: 2_000, timeoutMs: 500 },
  binding: { sockets: 4, windowPerSocket: 32, warmupMs: 100, durationMs: 1_000 },
  churn: { count: 10_000, concurrency: 64, settleMs: 1_200, timeLimitMs: 45_000, passes: 2 },
  uclient: { clients: 20, messagesPerClient: 500, intervalMs: 2, timeLimitMs: 30_000 },
};

const QUICK: Profile = {
  ...FULL,
  name: "quick",
  repetitions: 1,
  runTimeLimitMs: 90_000,
  flood: { ...FULL.flood, windows: [8, 32, 128, 256], stepMs: 300 },
  paced: { ...FULL.paced, durationMs: 600 },
  binding: { ...FULL.binding, durationMs: 500 },
  churn: { count: 2_000, concurrency: 64, settleMs: 800, timeLimitMs: 15_000, passes: 2 },
  uclient: { clients: 5, messagesPerClient: 100, intervalMs: 2, timeLimitMs: 20_000 },
};

const SMOKE: Profile = {
  ...QUICK,
  name: "smoke",
  runTimeLimitMs: 90_000,
  // Long enough steps for /proc's 10 ms ticks to see the server work even on a busy machine (npm test runs in parallel).
  flood: { ...QUICK.flood, flows: 2, windows: [4, 16], warmupMs: 50, stepMs: 400, timeoutMs: 1_000 },
  paced: { flows: 2, ratePerSecond: 500, durationMs: 300, timeoutMs: 300 },
  binding: { sockets: 2, windowPerSocket: 4, warmupMs: 50, durationMs: 250 },
  churn: { count: 20, concurrency: 4, settleMs: 300, timeLimitMs: 5_000, passes: 2 },
  uclient: { clients: 2, messagesPerClient: 10, intervalMs: 20, timeLimitMs: 15_000 },
};

export const USAGE = `Usage: npm run bench -- [--quick | --smoke] [--servers ${PEER_IDS.join(",")}] [--repetitions N]

  (no flag)      the full run, about 8-9 minutes; writes bench/results/latest.md (no other run does)
  --quick        one repetition, shorter steps (about a minute and a half)
  --smoke        tiny loads, one repetition, a few seconds per server: proves every piece works
  --servers L    a comma-separated subset of: ${PEER_IDS.join(", ")}
  --repetitions N  override the profile's number of interleaved repetitions
  --churn-passes N  allocation passes per server (2 to 10; default 2): the last is reported, for a warm server
  --verbose      print every flood step on stderr
`;

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[]): BenchOptions | "help" {
  let profile = FULL;
  let servers: readonly PeerId[] = PEER_IDS;
  let repetitions: number | undefined;
  let churnPasses: number | undefined;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = splitFlag(argv[i]!);
    const value = (): string => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "--quick":
        if (profile !== SMOKE) profile = QUICK;
        break;
      case "--smoke":
        profile = SMOKE;
        break;
      case "--servers":
        servers = parseServers(value());
        break;
      case "--repetitions":
        repetitions = Number(value());
        if (!Number.isInteger(repetitions) || repetitions < 1 || repetitions > 20) throw new UsageError("--repetitions takes 1 to 20");
        break;
      case "--churn-passes":
        churnPasses = Number(value());
        if (!Number.isInteger(churnPasses) || churnPasses < 2 || churnPasses > 10) throw new UsageError("--churn-passes takes 2 to 10");
        break;
      case "--verbose":
        verbose = true;
        break;
      case "-h":
      case "--help":
        return "help";
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  const recordsResults = profile === FULL && servers === PEER_IDS && repetitions === undefined && churnPasses === undefined;
  if (repetitions !== undefined) profile = { ...profile, repetitions };
  if (churnPasses !== undefined) {
    // Each pass takes time: a run that should still fit in its time limit gets room for the extra ones.
    const extra = churnPasses - profile.churn.passes;
    profile = {
      ...profile,
      runTimeLimitMs: profile.runTimeLimitMs + extra * 10_000,
      churn: { ...profile.churn, passes: churnPasses, timeLimitMs: profile.churn.timeLimitMs + extra * 10_000 },
    };
  }
  return { profile, servers, verbose, recordsResults };
}

function splitFlag(arg: string): [string, string | undefined] {
  const equals = arg.indexOf("=");
  return equals < 0 ? [arg, undefined] : [arg.slice(0, equals), arg.slice(equals + 1)];
}

function parseServers(text: string): PeerId[] {
  const names = text.split(",").map((name) => name.trim()).filter((name) => name !== "");
  const unknown = names.filter((name) => !(PEER_IDS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new UsageError(`unknown server ${unknown.join(", ")}; choose from ${PEER_IDS.join(", ")}`);
  // Keep the canonical order so that tables line up from run to run.
  return PEER_IDS.filter((id) => names.includes(id));
}
