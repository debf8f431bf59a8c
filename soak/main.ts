// `npm run soak -- --minutes N`: turnpike under steady allocation churn and traffic for N minutes,
// one line of figures per interval, then everything deleted and the server's figures compared
// with its baseline. Exit code 0 when every figure is back within tolerance, 1 otherwise, 2 on bad usage.
import { Churn } from "./churn.js";
import { startEchoPeer } from "./echo-peer.js";
import { OptionsError, parseOptions, USAGE, type SoakOptions } from "./options.js";
import { compare, formatChecks, formatElapsed, mb, serverFigures, type Check, type ServerFigures } from "./report.js";
import { SOAK_CREDENTIALS, SoakServer } from "./server-process.js";

const HOST = "127.0.0.1";
const BASELINE_SETTLE_MS = 3000;
const MAX_LOSS_RATIO = 0.01;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const print = (line: string): void => void process.stdout.write(`[soak] ${line}\n`);

/** Figures read over a few idle seconds; the heap is the lowest seen (the likeliest after a GC). */
async function idleFigures(server: SoakServer, samples: number): Promise<ServerFigures> {
  let figures: ServerFigures | undefined;
  let lowestHeap = Number.POSITIVE_INFINITY;
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(1000);
    figures = serverFigures(await server.sample());
    lowestHeap = Math.min(lowestHeap, figures.relayHeapUsedBytes);
  }
  return { ...figures!, relayHeapUsedBytes: lowestHeap };
}

async function run(options: SoakOptions): Promise<boolean> {
  const durationMs = options.minutes * 60_000;
  const peers = [await startEchoPeer(HOST), await startEchoPeer(HOST)] as const;
  const server = await SoakServer.start(HOST, options.relayThreads, options.population);
  const stopSignal = (): void => {
    print("interrupted: stopping the server");
    void server.stop().finally(() => process.exit(1));
  };
  process.once("SIGINT", stopSignal);
  process.once("SIGTERM", stopSignal);
  let churn: Churn | undefined;
  try {
    const meanLifeMs = Math.min(40_000, Math.max(3000, durationMs / 4));
    print(
      `turnpike pid ${server.pid} on ${HOST}:${server.port} (udp+tcp), api ${server.apiPort}; ` +
        `${options.minutes} min, ${options.rate} packets/s, population ${options.population}, mean allocation life ${(meanLifeMs / 1000).toFixed(0)} s`,
    );
    await sleep(BASELINE_SETTLE_MS);
    const baseline = await idleFigures(server, 3);
    print(
      `baseline: allocations=${baseline.allocations} relay-heap=${mb(baseline.relayHeapUsedBytes)} rss=${mb(baseline.rssBytes)} ` +
        `fds=${baseline.openFds} relay_ports_free=${baseline.relayPortsFree}`,
    );

    churn = new Churn(
      { host: HOST, port: server.port },
      SOAK_CREDENTIALS,
      [
        { family: "IPv4", address: HOST, port: peers[0].port },
        { family: "IPv4", address: HOST, port: peers[1].port },
      ],
      { population: options.population, packetsPerSecond: options.rate, meanLifeMs },
    );
    const startedAt = Date.now();
    const progress = async (label: string): Promise<void> => {
      const figures = serverFigures(await server.sample());
      const { counters, traffic } = churn!;
      const live = churn!.live();
      const t = traffic.counters;
      const client = process.memoryUsage();
      const decided = t.echoed + t.lost;
      print(
        `${label} t=${formatElapsed(Date.now() - startedAt)} ` +
          `alloc=${figures.allocations} (client udp ${live.udp} tcp ${live.tcp}) created=${counters.created} deleted=${counters.deleted} reset=${counters.reset} ` +
          `perms=${figures.permissions} chans=${figures.channels} | ` +
          `sent=${t.sent} echoed=${t.echoed} lost=${t.lost} (${decided === 0 ? "0.000" : ((100 * t.lost) / decided).toFixed(3)}%) | ` +
          `server relay-heap=${mb(figures.relayHeapUsedBytes)} rss=${mb(figures.rssBytes)} fds=${figures.openFds} ` +
          `relay_ports_used=${baseline.relayPortsFree - figures.relayPortsFree} | ` +
          `client heap=${mb(client.heapUsed)} rss=${mb(client.rss)} in_flight=${traffic.inFlight} errors=${counters.errors}`,
      );
    };

    churn.start();
    await progress("minute");
    for (let next = options.reportSeconds * 1000; ; next += options.reportSeconds * 1000) {
      const wait = Math.min(next, durationMs) - (Date.now() - startedAt);
      if (wait > 0) await sleep(wait);
      if (!server.isRunning) throw new Error(`turnpike exited during the soak:\n${server.outputTail()}`);
      if (next >= durationMs) break;
      await progress("minute");
    }
    await progress("churn-end");

    await churn.stop();
    const idleMs = options.minutes >= 1 ? 15_000 : 5000;
    await sleep(idleMs);
    if (!server.isRunning) throw new Error(`turnpike exited after the soak:\n${server.outputTail()}`);
    const end = await idleFigures(server, 3);
    print(`stopped: everything deleted, ${idleMs / 1000} s idle; end vs baseline:`);

    const t = churn.traffic.counters;
    const decided = t.echoed + t.lost;
    const lossRatio = decided === 0 ? 0 : t.lost / decided;
    const checks: Check[] = [
      ...compare(baseline, end),
      { figure: "client errors", baseline: "0", end: String(churn.counters.errors), rule: "= 0", pass: churn.counters.errors === 0 },
      {
        figure: "packet loss",
        baseline: "-",
        end: `${(100 * lossRatio).toFixed(3)}% of ${decided}`,
        rule: `<= ${100 * MAX_LOSS_RATIO}%`,
        pass: lossRatio <= MAX_LOSS_RATIO && t.unexpected === 0 && t.echoed > 0,
      },
    ];
    for (const line of formatChecks(checks)) print(`  ${line}`);
    for (const sample of churn.errorSamples) print(`  client error: ${sample}`);
    if (server.logLines > 0) print(`  server printed ${server.logLines} warn/error lines; last output:\n${server.outputTail().slice(-2000)}`);
    const pass = checks.every((c) => c.pass);
    const summary =
      `created=${churn.counters.created} deleted=${churn.counters.deleted} reset=${churn.counters.reset} ` +
      `refreshes=${churn.counters.refreshes} permissions=${churn.counters.permissions} channels=${churn.counters.channels} ` +
      `echoed=${t.echoed} lost=${t.lost} unexpected=${t.unexpected}`;
    print(`totals: ${summary}`);
    print(`verdict: ${pass ? "PASS" : "FAIL"}`);
    return pass;
  } finally {
    await churn?.stop(2000);
    await server.stop();
    await Promise.all(peers.map((peer) => peer.close()));
    process.removeListener("SIGINT", stopSignal);
    process.removeListener("SIGTERM", stopSignal);
  }
}

let options: SoakOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof OptionsError)) throw error;
  process.stderr.write(`soak: ${error.message}\n${USAGE}\n`);
  process.exit(2);
}
// Hard bound on the whole run, whatever happens: churn, startup, shutdown and idle checks included.
const watchdog = setTimeout(() => {
  print("verdict: FAIL (watchdog: the soak overran its time bound)");
  process.exit(1);
}, options.minutes * 60_000 + 120_000);
run(options).then(
  (pass) => {
    clearTimeout(watchdog);
    process.exitCode = pass ? 0 : 1;
  },
  (error: unknown) => {
    clearTimeout(watchdog);
    print(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    print("verdict: FAIL");
    process.exitCode = 1;
  },
);
