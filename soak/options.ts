// Command-line options of `npm run soak`: a duration, a packet rate and a population of allocations.
export interface SoakOptions {
  readonly minutes: number;
  /** Packets per second sent to the echo peer, all allocations together (each one comes back). */
  readonly rate: number;
  /** Live allocations the churn keeps, half over UDP and half over TCP. */
  readonly population: number;
  /** Seconds between two progress lines. */
  readonly reportSeconds: number;
  /** Passed to the server; 0 is its default, one relay thread per CPU. */
  readonly relayThreads: number;
}

export const USAGE = `usage: npm run soak -- --minutes N [--rate PACKETS_PER_S] [--population ALLOCATIONS] [--report-seconds S] [--relay-threads N]
  --minutes          churn duration, a positive number (0.2 for a smoke run)           required
  --rate             packets per second sent through the relay (each is echoed back)   default 2000
  --population       live allocations kept by the churn, half UDP and half TCP        default 100
  --report-seconds   seconds between two progress lines                                default 60
  --relay-threads    the server's relay-threads (0: one per CPU)                      default 0`;

export class OptionsError extends Error {}

const DEFAULTS = { rate: 2000, population: 100, reportSeconds: 60, relayThreads: 0 };

export function parseOptions(argv: readonly string[]): SoakOptions {
  const values = new Map<string, number>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const name = flag.replace(/^--/, "");
    if (!flag.startsWith("--") || !["minutes", "rate", "population", "report-seconds", "relay-threads"].includes(name)) {
      throw new OptionsError(`unknown argument: ${arg}`);
    }
    const text = inline ?? argv[++i];
    if (text === undefined) throw new OptionsError(`${flag} needs a value`);
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) throw new OptionsError(`${flag}: not a number: ${text}`);
    values.set(name, value);
  }
  const minutes = values.get("minutes");
  if (minutes === undefined) throw new OptionsError("--minutes is required");
  if (!(minutes > 0)) throw new OptionsError(`--minutes must be a positive number, got ${minutes}`);
  const options: SoakOptions = {
    minutes,
    rate: values.get("rate") ?? DEFAULTS.rate,
    population: values.get("population") ?? DEFAULTS.population,
    reportSeconds: values.get("report-seconds") ?? DEFAULTS.reportSeconds,
    relayThreads: values.get("relay-threads") ?? DEFAULTS.relayThreads,
  };
  if (!(options.rate >= 0)) throw new OptionsError("--rate must be 0 or more");
  if (!Number.isInteger(options.population) || options.population < 2 || options.population > 1000) {
    throw new OptionsError("--population must be an integer from 2 to 1000");
  }
  if (!(options.reportSeconds > 0)) throw new OptionsError("--report-seconds must be positive");
  if (!Number.isInteger(options.relayThreads) || options.relayThreads < 0) throw new OptionsError("--relay-threads must be an integer, 0 or more");
  return options;
}
