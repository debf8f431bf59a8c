// What a load reads around its measurement window: the server's CPU and memory, the echo peer's CPU
// and count, the generator's own CPU. The benchmark's runner implements it.

export interface LoadSample {
  /** Server CPU (all threads and child processes), microseconds since it started. */
  readonly serverCpuMicros: number;
  readonly serverRssBytes: number;
  /** Datagrams the echo peer has received since it started. */
  readonly peerReceived: number;
  readonly echoPeerCpuMicros: number;
  /** This process (the load generator): user + system. */
  readonly generatorCpuMicros: number;
}

export interface LoadProbe {
  sample(): Promise<LoadSample>;
  /** Server RSS right now, for peaks during a load; undefined when the process is gone. */
  serverRssBytes(): number | undefined;
}

/** Per-second shares of one core over a window, from two samples. */
export interface LoadSideCpu {
  readonly generatorCores: number;
  readonly echoPeerCores: number;
  readonly serverCores: number;
}

export function loadSideCpu(begin: LoadSample, end: LoadSample, seconds: number): LoadSideCpu {
  const cores = (micros: number): number => micros / 1e6 / seconds;
  return {
    generatorCores: cores(end.generatorCpuMicros - begin.generatorCpuMicros),
    echoPeerCores: cores(end.echoPeerCpuMicros - begin.echoPeerCpuMicros),
    serverCores: cores(end.serverCpuMicros - begin.serverCpuMicros),
  };
}
