/** Polls `check` every `pollMs` until it holds (true) or `timeoutMs` has passed (false). */
export async function until(check: () => boolean, timeoutMs = 2000, pollMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return true;
}
