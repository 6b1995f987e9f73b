import type { Pool } from '../db/pool.js';
import type { KeyService } from '../keys/key-service.js';
import type { Logger } from '../log.js';
import type { KeyRateLimiter } from './key-rate-limiter.js';
import { syncUsage } from './usage-store.js';

export interface UsageSync {
  /** Runs one sync now (or waits for the one running). */
  flush(): Promise<void>;
  /** Stops the timer and sends what is still counted (graceful shutdown). */
  stop(): Promise<void>;
  /** When a sync last succeeded (or found nothing to send), ms since the epoch: /metrics shows the lag. */
  readonly lastSyncedAt: number;
}

/**
 * Every `intervalMs`, one batched statement per instance: add the request counts of the keys in
 * use, read back their global totals, and drop the keys that no longer work (revoked, expired,
 * owner disabled). Rate limits reach every instance this way, without a database round trip on any
 * request; other changes of a key's status come through the change feed (db/change-feed.ts).
 * Nothing is sent while no key is in use.
 */
export function startUsageSync(deps: { pool: Pool; limiter: KeyRateLimiter; keys: KeyService; log: Logger; intervalMs: number }): UsageSync {
  let running: Promise<void> | undefined;
  let failures = 0;
  let lastSyncedAt = Date.now();

  async function syncOnce(): Promise<void> {
    const batch = deps.limiter.drain();
    if (batch.keyIds.length === 0) {
      lastSyncedAt = Date.now();
      return;
    }
    const read = deps.keys.beginStatusRead();
    let synced;
    try {
      synced = await syncUsage(deps.pool, batch);
    } catch (err) {
      deps.limiter.settle(batch, undefined);
      // Say so once per outage, not every second.
      if (failures++ === 0) deps.log.warn({ err: (err as Error).message }, 'usage sync failed; counts are kept and retried');
      return;
    }
    if (failures > 0) deps.log.info({ failures }, 'usage sync recovered');
    failures = 0;
    lastSyncedAt = Date.now();
    deps.limiter.settle(batch, synced.totals);
    const gone = batch.keyIds.filter((_, i) => synced.active[i] === false);
    deps.keys.refreshed(read, gone.map((keyId) => ({ keyId, record: undefined })));
  }

  function flush(): Promise<void> {
    running ??= syncOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => void flush(), deps.intervalMs);
  timer.unref();

  return {
    get lastSyncedAt() {
      return lastSyncedAt;
    },
    flush,
    async stop() {
      clearInterval(timer);
      await running;
      await flush();
    },
  };
}
