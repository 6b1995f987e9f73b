/**
 * One deadline for a whole tool call: waiting for a refresh slot and the connection's row lock,
 * the token requests and their retries, the upstream request and its retry after a 401.
 *
 * Each of those steps has a bound of its own (limits.ts), but bounds that add up do not bound the
 * call: a hung token endpoint used to make a call take 50–60 s with a 10 s token timeout (three
 * refresh attempts, then a 401, then three more). Every step now takes the smaller of its own
 * bound and what is left of the call's, and a step that would start with nothing left is not
 * started. There is no timer here: the steps' own timers (the exchange's, the slot wait's, the
 * database's lock_timeout) are simply given shorter times, so the hot path pays one Date.now().
 */
export interface Deadline {
  /** The whole call's budget, for messages ("within 40 s"). */
  readonly budgetMs: number;
  /** Milliseconds left; 0 or less once passed. */
  remaining(): number;
  /** Less than a few milliseconds left. */
  expired(): boolean;
  /**
   * `ms`, or what is left when that is less (at least 1 ms, so a timer still fires). Throws
   * CallDeadlineError when nothing is left: the step is not started at all.
   */
  cap(ms: number): number;
}

/**
 * What counts as no time left. Node's timers may fire a millisecond before Date.now() says their
 * time has come, and a step given less than this could do nothing useful anyway.
 */
const NOTHING_LEFT_MS = 5;

/** The call's deadline passed before the step could start (or while it ran). */
export class CallDeadlineError extends Error {
  override name = 'CallDeadlineError';
  constructor(readonly budgetMs: number) {
    super(`the call took longer than its ${budgetMs / 1000} s limit`);
  }
}

/** A class, not closures: one small object per tool call on the hot path (see docs/performance.md). */
class CallDeadline implements Deadline {
  private readonly at: number;
  constructor(readonly budgetMs: number) {
    this.at = Date.now() + budgetMs;
  }
  remaining(): number {
    return this.at - Date.now();
  }
  expired(): boolean {
    return this.remaining() < NOTHING_LEFT_MS;
  }
  cap(ms: number): number {
    const left = this.remaining();
    if (left < NOTHING_LEFT_MS) throw new CallDeadlineError(this.budgetMs);
    return Math.max(1, Math.min(ms, left));
  }
}

export function startDeadline(budgetMs: number): Deadline {
  return new CallDeadline(budgetMs);
}

/** For work without a caller waiting on it (tests, background tasks): never expires. */
export const NO_DEADLINE: Deadline = Object.freeze({
  budgetMs: Number.POSITIVE_INFINITY,
  remaining: () => Number.POSITIVE_INFINITY,
  expired: () => false,
  cap: (ms: number) => ms,
});
