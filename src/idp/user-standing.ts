import type { Queryable } from '../db/pool.js';
import { isUserActive } from '../users/user-store.js';

/**
 * How long an IdP token's user is trusted to be not disabled without a fresh read: the 5 s the
 * product promises for `disable-user` to reach every instance, like keys' STATUS_TTL_MS. A token's
 * signature cannot change, its user's standing can, so this (not the token's `exp`) bounds how
 * long a disabled user keeps working. Re-enabling takes effect within the same window.
 */
export const IDP_TRUST_MS = 5_000;

export interface UserStanding {
  /** Whether the user may act, when known from a read less than IDP_TRUST_MS old (no I/O), else undefined. */
  fresh(userId: string): boolean | undefined;
  /** One read by id (concurrent callers for one user share it); the answer is kept IDP_TRUST_MS. */
  read(userId: string): Promise<boolean>;
  /** An answer another read already gave (the cold path's identity lookup), as of `readAt`. */
  record(userId: string, active: boolean, readAt: number): void;
}

/**
 * Per user, not per token: a person's tokens share one read every 5 s, whatever their number. The
 * time kept is when the read started, so a disable committed while it ran is still seen in time.
 */
export function createUserStanding(db: Queryable, maxEntries: number): UserStanding {
  const known = new Map<string, { active: boolean; readAt: number }>();
  const reads = new Map<string, Promise<boolean>>();

  function record(userId: string, active: boolean, readAt: number): void {
    const current = known.get(userId);
    if (current && current.readAt >= readAt) return;
    if (!current && known.size >= maxEntries) {
      // Insertion order: the oldest entry goes; its user's next call costs one read.
      const oldest = known.keys().next().value;
      if (oldest !== undefined) known.delete(oldest);
    }
    known.set(userId, { active, readAt });
  }

  return {
    record,
    fresh(userId) {
      const entry = known.get(userId);
      return entry && Date.now() - entry.readAt < IDP_TRUST_MS ? entry.active : undefined;
    },
    read(userId) {
      let pending = reads.get(userId);
      if (!pending) {
        const readAt = Date.now();
        pending = isUserActive(db, userId)
          .then((active) => {
            record(userId, active, readAt);
            return active;
          })
          .finally(() => reads.delete(userId));
        reads.set(userId, pending);
      }
      return pending;
    },
  };
}
