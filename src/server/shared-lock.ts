// A spinlock in a word of shared memory, for critical sections of a few table probes. Holders are
// numbered from 1; each has a flag word, set while it sleeps waiting, so that a release wakes sleepers
// only when there are some. Flags rather than a count: a thread killed while waiting would leave a
// count raised for good, whereas its flag is cleared with the rest of its state.

const SPINS_BEFORE_WAIT = 64;
const WAIT_SLICE_MS = 1;

export class SharedLock {
  /**
   * @param word the lock word: 0 free, else its holder.
   * @param firstFlag the flag of holder 1; holder h's is firstFlag + h - 1.
   */
  constructor(
    private readonly control: Int32Array,
    private readonly word: number,
    private readonly firstFlag: number,
    private readonly holders: number,
  ) {}

  /** Takes the lock for `holder` within `timeoutMs` (0: spin briefly, never sleep); false if it could not. */
  acquire(holder: number, timeoutMs: number): boolean {
    const { control, word } = this;
    for (let spin = 0; spin < SPINS_BEFORE_WAIT; spin++) {
      if (Atomics.compareExchange(control, word, 0, holder) === 0) return true;
    }
    if (timeoutMs <= 0) return false;
    const deadline = performance.now() + timeoutMs;
    const flag = this.firstFlag + holder - 1;
    Atomics.store(control, flag, 1);
    try {
      for (;;) {
        if (Atomics.compareExchange(control, word, 0, holder) === 0) return true;
        const left = deadline - performance.now();
        if (left <= 0) return false;
        const current = Atomics.load(control, word);
        if (current !== 0) Atomics.wait(control, word, current, Math.min(WAIT_SLICE_MS, left));
      }
    } finally {
      Atomics.store(control, flag, 0);
    }
  }

  release(): void {
    const { control, word } = this;
    Atomics.store(control, word, 0);
    for (let flag = this.firstFlag; flag < this.firstFlag + this.holders; flag++) {
      if (Atomics.load(control, flag) !== 0) {
        Atomics.notify(control, word);
        return;
      }
    }
  }

  /** `holder` is gone: a lock it held is free, and it waits no more. */
  forget(holder: number): void {
    Atomics.compareExchange(this.control, this.word, holder, 0);
    Atomics.store(this.control, this.firstFlag + holder - 1, 0);
  }
}
