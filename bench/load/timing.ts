// Small time helpers; every wait in the benchmark is bounded.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the promise's value, or with `fallback` once `ms` have passed. */
export async function withTimeout<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `isDone` every `intervalMs` until it holds or `ms` have passed; resolves to whether it held. */
export async function waitUntil(isDone: () => boolean, ms: number, intervalMs = 10): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!isDone()) {
    if (performance.now() >= deadline) return false;
    await sleep(intervalMs);
  }
  return true;
}
