import { deleteOldAuditEvents } from './audit/audit-store.js';
import { deleteExpiredStates } from './connections/state-store.js';
import { deleteExpiredIdpLogins } from './idp/login-store.js';
import type { Pool } from './db/pool.js';
import { deleteExpiredDemoRows } from './demo/demo-store.js';
import { deleteEndedRateWindows } from './limits/usage-store.js';
import type { Logger } from './log.js';
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
}

/**
 * Periodic clean-up, once at start and then every interval. Every statement deletes expired rows
 * only, skipping rows another instance holds, so several instances running it at once is
 * harmless: each row goes exactly once, and nobody waits.
 */
export function startHousekeeping(pool: Pool, log: Logger, options: HousekeepingOptions = {}): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const run = (): void => {
    // A sweep slower than the interval (a huge backlog) is not started twice.
    running ??= (async () => {
      try {
        const states = await deleteExpiredStates(pool);
        if (states > 0) log.debug({ states }, 'deleted expired OAuth states');
        const oauth =
          (await deleteExpiredAuthorizationRequests(pool)) + (await deleteExpiredCodes(pool)) + (await deleteExpiredSessions(pool)) + (await deleteExpiredTokens(pool)) + (await deleteExpiredIdpLogins(pool));
        if (oauth > 0) log.debug({ rows: oauth }, 'deleted expired OAuth server rows');
        const demo = await deleteExpiredDemoRows(pool);
        if (demo > 0) log.debug({ rows: demo }, 'deleted expired demo upstream codes and tokens');
        const webSessions = await deleteExpiredWebSessions(pool);
        if (webSessions > 0) log.debug({ webSessions }, 'deleted ended web sessions');
        log.debug({ rateWindows: await deleteEndedRateWindows(pool), auditEvents: await deleteOldAuditEvents(pool) }, 'deleted ended rate windows and old audit events');
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
