/** Polls `check` every `pollMs` until it holds (true) or `timeoutMs` has passed (false). */
export async function until(check: () => boolean, timeoutMs = 2000, pollMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return true;
}

/**
 * The value `read` gives once it has not changed for `quietMs` (figures that other threads report
 * now and then), or whatever it is after `timeoutMs`.
 */
export async function settled(read: () => number, quietMs = 600, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  let since = Date.now();
  while (Date.now() - since < quietMs && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = read();
    if (now !== value) {
      value = now;
      since = Date.now();
    }
  }
  return value;
}
