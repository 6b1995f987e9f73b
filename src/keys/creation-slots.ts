import { TooManyRequestsError } from '../errors.js';

/** Key creations and rotations one user may have in progress at once, per process. */
export const DEFAULT_CREATIONS_PER_USER = 2;

/**
 * Each key creation costs a bcrypt hash (~50–80 ms on a gate of 2 threads shared with every
 * first use of a key). Without a bound one user's burst of POST /api/keys queued everybody's
 * verifications behind it; with it, the burst gets 429s at once and others go on (issue 18, item 5).
 */
export interface CreationSlots {
  run<T>(userId: string, work: () => Promise<T>): Promise<T>;
}

export function createCreationSlots(perUser = DEFAULT_CREATIONS_PER_USER): CreationSlots {
  const active = new Map<string, number>();
  return {
    async run(userId, work) {
      const now = active.get(userId) ?? 0;
      if (now >= perUser) throw new TooManyRequestsError('Too many keys are being created for this account at once. Try again in a second.', 1);
      active.set(userId, now + 1);
      try {
        return await work();
      } finally {
        const left = (active.get(userId) ?? 1) - 1;
        if (left === 0) active.delete(userId);
        else active.set(userId, left);
      }
    },
  };
}
