/**
 * Told about every upstream request a tool call makes (REST or remote MCP): the provider, the
 * HTTP status or why there is none, and how long it took. /metrics turns this into upstream
 * latency and status per provider; nothing user-specific is passed.
 */
export type UpstreamObserver = (providerId: string, outcome: number | 'timeout' | 'error', seconds: number) => void;

/** Runs one upstream request and reports it; `statusOf` reads the status of a success, `failedStatus` of a failure that has one. */
export async function observed<T>(
  observe: UpstreamObserver | undefined,
  providerId: string,
  work: () => Promise<T>,
  statusOf: (result: T) => number,
  failedStatus: (err: unknown) => number | undefined = () => undefined,
): Promise<T> {
  if (!observe) return work();
  const started = performance.now();
  try {
    const result = await work();
    observe(providerId, statusOf(result), (performance.now() - started) / 1000);
    return result;
  } catch (err) {
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    observe(providerId, timedOut ? 'timeout' : (failedStatus(err) ?? 'error'), (performance.now() - started) / 1000);
    throw err;
  }
}
