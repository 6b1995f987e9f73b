/**
 * A cap on the token refreshes one process runs at once.
 *
 * A refresh holds a database connection (and the connection's row lock) across its token request,
 * which may take up to the token timeout when an upstream is slow. Without a cap, a burst of
 * refreshes against a wedged token endpoint could take every connection of the pool and stall
 * everything else that needs the database — sign-ins, key checks, other users' tool calls — for
 * the length of the timeout. With it, the rest of the pool stays free for them.
 */
export interface RefreshSlots {
  /** A slot now, or undefined when all are taken (for refreshes that need not happen). */
  tryTake(): (() => void) | undefined;
  /** A slot within `waitMs` (first come, first served), or undefined when none came free. */
  take(waitMs: number): Promise<(() => void) | undefined>;
}

export function createRefreshSlots(size: number): RefreshSlots {
  let free = size;
  const waiting: Array<(release: () => void) => void> = [];

  function slot(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next) next(slot());
      else free += 1;
    };
  }

  function tryTake(): (() => void) | undefined {
    if (free === 0) return undefined;
    free -= 1;
    return slot();
  }

  return {
    tryTake,
    take(waitMs) {
      const now = tryTake();
      if (now) return Promise.resolve(now);
      return new Promise((resolve) => {
        const grant = (release: () => void): void => {
          clearTimeout(timer);
          resolve(release);
        };
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(grant), 1);
          resolve(undefined);
        }, waitMs);
        waiting.push(grant);
      });
    },
  };
}
