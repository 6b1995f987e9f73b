import { deleteOldAuditEvents } from './audit/audit-store.js';
import { deleteExpiredStates } from './connections/state-store.js';
import { deleteExpiredIdpLogins } from './idp/login-store.js';
import type { Pool } from './db/pool.js';
import { deleteExpiredDemoRows } from './demo/demo-store.js';
import { deleteOldCacheChanges } from './db/change-feed.js';
import { deleteEndedRateWindows } from './limits/usage-store.js';
import type { Logger } from './log.js';
import { RETENTION_DEFAULTS, type Retention } from './retention.js';
import { deleteOldUsage } from './usage/usage-store.js';
import { deleteExpiredAuthorizationRequests } from './oauth-server/authorization-request-store.js';
import { deleteExpiredCodes } from './oauth-server/code-store.js';
import { deleteExpiredSessions } from './oauth-server/session-store.js';
import { deleteExpiredTokens } from './oauth-server/token-store.js';
import { deleteExpiredWebSessions } from './web/session-store.js';

/** States live 10 minutes; sweeping as often keeps at most about two lifetimes' worth around. */
const DEFAULT_INTERVAL_MS = 10 * 60_000;

export interface HousekeepingOptions {
  /** Time between sweeps (default 10 minutes). */
  intervalMs?: number;
  /** What to keep how long (RETENTION_*; defaults in retention.ts). */
  retention?: Retention;
}

/**
 * Periodic clean-up, once at start and then every interval, on every instance. Every statement
 * deletes in batches of rows past their expiry or retention, skipping rows another instance holds
 * (db/sweep.ts), so several instances running it at once is harmless: each row goes exactly once,
 * and nobody waits.
 */
export function startHousekeeping(pool: Pool, log: Logger, options: HousekeepingOptions = {}): { stop(): Promise<void> } {
  const retention = options.retention ?? RETENTION_DEFAULTS;
  let running: Promise<void> | undefined;
  const run = (): void => {
    // A sweep slower than the interval (a huge backlog) is not started twice.
    running ??= (async () => {
      try {
        const grace = retention.expiredHours;
        const states = await deleteExpiredStates(pool, grace);
        if (states > 0) log.debug({ states }, 'deleted expired OAuth states');
        const oauth =
          (await deleteExpiredAuthorizationRequests(pool, grace)) +
          (await deleteExpiredCodes(pool, grace)) +
          (await deleteExpiredSessions(pool, grace)) +
          (await deleteExpiredTokens(pool, grace)) +
          (await deleteExpiredIdpLogins(pool));
        if (oauth > 0) log.debug({ rows: oauth }, 'deleted expired OAuth server rows');
        const demo = await deleteExpiredDemoRows(pool);
        if (demo > 0) log.debug({ rows: demo }, 'deleted expired demo upstream codes and tokens');
        const webSessions = await deleteExpiredWebSessions(pool);
        if (webSessions > 0) log.debug({ webSessions }, 'deleted ended web sessions');
        const rateWindows = await deleteEndedRateWindows(pool);
        const cacheChanges = await deleteOldCacheChanges(pool);
        const auditEvents = await deleteOldAuditEvents(pool, retention.auditDays);
        const usageRows = await deleteOldUsage(pool, retention.usageDays);
        log.debug({ rateWindows, cacheChanges, auditEvents, usageRows }, 'deleted ended rate windows, old change-feed rows, old audit events and old usage rows');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'housekeeping failed; will retry');
      } finally {
        running = undefined;
      }
    })();
  };
  const timer = setInterval(run, options.intervalMs ?? DEFAULT_INTERVAL_MS);
  timer.unref();
  run();
  return {
    /** No further sweeps; resolves once a sweep under way has finished (before the pool closes). */
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
