// What the benchmark and the heap probe inside a Node.js server say to each other over IPC.

export type HeapProbeRequest = { readonly type: "memory" };

export type HeapProbeReply = {
  readonly type: "memory";
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
  /** A full GC ran first (the process was started with --expose-gc). */
  readonly collected: boolean;
  /** The main thread plus the worker threads that answered. */
  readonly threads: number;
};
