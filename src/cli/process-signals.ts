// The binary's first import: from then on, for the life of the process, SIGUSR1, SIGHUP and SIGUSR2
// have a listener. Without one, SIGUSR1 opens Node's inspector on 127.0.0.1:9229 (anyone on the host
// could then run code as turnpike and read its secrets), and SIGHUP and SIGUSR2 end the process: a
// `turnpike drain` or a logrotate reload that came while the server was starting or closing did
// that. One that comes before the server handles it waits for it; once the server stops handling
// it, it is ignored. (Before this module runs, in Node's own start-up, SIGUSR1 still opens the
// inspector: only `node --disable-sigusr1` closes that.)

export type HandledSignal = "SIGUSR1" | "SIGHUP" | "SIGUSR2";

interface SignalState {
  handler: (() => void) | undefined;
  pending: boolean;
  /** The server stopped handling it: what comes now is ignored, never queued. */
  done: boolean;
}

const states = new Map<HandledSignal, SignalState>();

for (const signal of ["SIGUSR1", "SIGHUP", "SIGUSR2"] as const) {
  const state: SignalState = { handler: undefined, pending: false, done: false };
  states.set(signal, state);
  process.on(signal, () => {
    if (state.handler !== undefined) state.handler();
    else if (!state.done) state.pending = true;
  });
}

/**
 * Routes `signals` to `handler`, at once for any that came while nothing handled them (once, on the
 * next turn); the returned function stops it, and from then on they are ignored.
 */
export function handleSignals(signals: readonly HandledSignal[], handler: () => void): () => void {
  let delivered = false;
  for (const signal of signals) {
    const state = states.get(signal)!;
    state.handler = handler;
    if (state.pending && !delivered) {
      delivered = true;
      setImmediate(handler);
    }
    state.pending = false;
  }
  return () => {
    for (const signal of signals) {
      const state = states.get(signal)!;
      if (state.handler === handler) state.handler = undefined;
      state.done = true;
    }
  };
}
