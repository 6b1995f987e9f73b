import { deleteOldAuditEvents } from './audit/audit-store.js';
import { deleteExpiredStates } from './connections/state-store.js';
import type { Pool } from './db/pool.js';
import { deleteEndedRateWindows } from './limits/usage-store.js';
import type { Logger } from './log.js';

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
      log.debug({ rateWindows: await deleteEndedRateWindows(pool), auditEvents: await deleteOldAuditEvents(pool) }, 'deleted ended rate windows and old audit events');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'housekeeping failed; will retry');
    }
  };
  const timer = setInterval(() => void run(), INTERVAL_MS);
  timer.unref();
  void run();
  return { stop: () => clearInterval(timer) };
}
