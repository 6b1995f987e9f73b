export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps until the wall clock reaches `at` (a Date, or epoch milliseconds); returns at once if it has. */
export function sleepUntil(at: Date | number): Promise<void> {
  return sleep(Math.max(0, (typeof at === 'number' ? at : at.getTime()) - Date.now()));
}

/** Polls `check` every `intervalMs` until it returns true; fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
