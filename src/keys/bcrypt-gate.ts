import os from 'node:os';
import bcrypt from 'bcrypt';

/** bcrypt cost 10 ≈ 50-80 ms per hash here: slow for a guesser, paid once per key per instance. */
export const BCRYPT_COST = 10;

/**
 * The bcrypt package runs on libuv's thread pool (4 threads by default), which DNS lookups,
 * file system calls and zlib share. Letting a burst of cold keys take every thread would stall
 * all of those for everyone, so at most `maxConcurrent` bcrypt operations run at once and the
 * rest queue here, on the event loop, where waiting costs nothing.
 */
export interface BcryptGate {
  hash(secret: string): Promise<string>;
  compare(secret: string, hash: string): Promise<boolean>;
  /** How many compares and hashes ran since start (for tests and the benchmark). */
  readonly counts: { readonly compares: number; readonly hashes: number };
}

/**
 * One core fewer than the machine has (at least one): a burst of cold keys then cannot take every
 * core from the event loop, so keys already verified keep being served in milliseconds while the
 * burst is worked off (measured by `npm run bench:scale`: with both cores of a 2-CPU machine on
 * bcrypt, a hot key's p99 went from ~30 ms to over 250 ms).
 */
export const DEFAULT_BCRYPT_CONCURRENCY = Math.max(1, Math.min(4, os.availableParallelism() - 1));

export function createBcryptGate(maxConcurrent = DEFAULT_BCRYPT_CONCURRENCY): BcryptGate {
  let active = 0;
  const waiting: Array<() => void> = [];
  const counts = { compares: 0, hashes: 0 };

  async function gated<T>(work: () => Promise<T>): Promise<T> {
    // A released slot is handed straight to the next waiter, so nobody can overtake the queue.
    if (active < maxConcurrent) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  }

  return {
    counts,
    hash(secret) {
      counts.hashes += 1;
      return gated(() => bcrypt.hash(secret, BCRYPT_COST));
    },
    compare(secret, hash) {
      counts.compares += 1;
      return gated(() => bcrypt.compare(secret, hash));
    },
  };
}
