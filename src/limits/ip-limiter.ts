import { addressBucket } from './client-address.js';
import { secondsUntilReset, windowStart } from './windows.js';

/**
 * A fixed-window counter per client address, in this instance's memory. Used where a request
 * costs us something before we know who is asking (registration, refused keys): with N
 * instances behind a load balancer a client gets at most N × the limit.
 */
export interface IpLimiter {
  /** Seconds to wait when `address` is over the limit, else undefined. Counts nothing. */
  blockedFor(address: string | undefined, now?: number): number | undefined;
  /** Counts one event for `address`. */
  hit(address: string | undefined, now?: number): void;
  /** How many times blockedFor() refused since start (for /metrics). */
  readonly refusals: number;
}

/** Beyond this many tracked addresses the ones with ended windows are swept, then the oldest dropped. */
const MAX_TRACKED = 100_000;

export function createIpLimiter(options: { limit: number; windowSeconds: number }): IpLimiter {
  const counts = new Map<string, { start: number; count: number }>();
  let refusals = 0;

  function current(bucket: string, now: number): { start: number; count: number } | undefined {
    const entry = counts.get(bucket);
    return entry && entry.start === windowStart(now, options.windowSeconds) ? entry : undefined;
  }

  function sweep(now: number): void {
    const start = windowStart(now, options.windowSeconds);
    for (const [bucket, entry] of counts) if (entry.start !== start) counts.delete(bucket);
    while (counts.size >= MAX_TRACKED) {
      const oldest = counts.keys().next().value;
      if (oldest === undefined) break;
      counts.delete(oldest);
    }
  }

  return {
    blockedFor(address, now = Date.now()) {
      const entry = current(addressBucket(address), now);
      if (!entry || entry.count < options.limit) return undefined;
      refusals += 1;
      return secondsUntilReset(now, options.windowSeconds);
    },
    get refusals() {
      return refusals;
    },
    hit(address, now = Date.now()) {
      const bucket = addressBucket(address);
      const entry = current(bucket, now);
      if (entry) {
        entry.count += 1;
        return;
      }
      if (counts.size >= MAX_TRACKED) sweep(now);
      counts.set(bucket, { start: windowStart(now, options.windowSeconds), count: 1 });
    },
  };
}
