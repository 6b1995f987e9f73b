import { deleteExpiredStates } from './connections/state-store.js';
import type { Pool } from './db/pool.js';
import type { Logger } from './log.js';
import { deleteExpiredAuthorizationRequests } from './oauth-server/authorization-request-store.js';
import { deleteExpiredCodes } from './oauth-server/code-store.js';
import { deleteExpiredSessions } from './oauth-server/session-store.js';
import { deleteExpiredTokens } from './oauth-server/token-store.js';

const INTERVAL_MS = 10 * 60_000;

/**
 * Periodic clean-up. Every statement is an idempotent DELETE of expired rows, so several
 * instances running it at once is harmless: whoever comes first deletes, the rest find nothing.
 */
export function startHousekeeping(pool: Pool, log: Logger): { stop(): void } {
  const run = async (): Promise<void> => {
    try {
      const states = await deleteExpiredStates(pool);
      if (states > 0) log.debug({ states }, 'deleted expired OAuth states');
      const oauth =
        (await deleteExpiredAuthorizationRequests(pool)) + (await deleteExpiredCodes(pool)) + (await deleteExpiredSessions(pool)) + (await deleteExpiredTokens(pool));
      if (oauth > 0) log.debug({ rows: oauth }, 'deleted expired OAuth server rows');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'housekeeping failed; will retry');
    }
  };
  const timer = setInterval(() => void run(), INTERVAL_MS);
  timer.unref();
  void run();
  return { stop: () => clearInterval(timer) };
}
