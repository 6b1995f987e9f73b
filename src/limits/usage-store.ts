import type { Queryable } from '../db/pool.js';
import { sweep } from '../db/sweep.js';
import type { SyncedTotals, UsageBatch } from './key-rate-limiter.js';

/** What a sync read back, aligned with its batch's keyIds. */
export interface SyncResult {
  totals: SyncedTotals;
  /** false where the key no longer works (revoked, expired, owner disabled, gone). */
  active: boolean[];
}

/**
 * The usage sync's one statement, so that no request ever waits on the database for limits or
 * key status. In a single round trip it:
 *  1. adds each key's new counts to its minute and hour window rows (upsert),
 *  2. stamps `last_used_at` on used keys, at most once a minute each,
 *  3. returns every listed key's global window totals, and whether it still works. Not its whole
 *     status: parsing and replacing thousands of key records a second was much of the garbage at
 *     20,000 active keys, and changed statuses arrive through the change feed (db/change-feed.ts).
 * Rows are upserted in key order so that instances flushing together lock them in the same order.
 * Answers come back as arrays in the batch's order (no key ids, no object per row).
 */
const SYNC_SQL = `
WITH input AS (
  SELECT t.*, $2::timestamptz AS minute_start, $4::timestamptz AS hour_start
    FROM unnest($1::uuid[], $3::int[], $5::int[]) WITH ORDINALITY AS t(key_id, minute_delta, hour_delta, n)
), deltas AS (
  SELECT key_id, 60 AS window_seconds, minute_start AS window_start, minute_delta AS delta FROM input
  UNION ALL
  SELECT key_id, 3600, hour_start, hour_delta FROM input
), bumped AS (
  INSERT INTO key_rate_windows AS w (key_id, window_seconds, window_start, count)
  SELECT key_id, window_seconds, window_start, delta FROM deltas WHERE delta > 0 ORDER BY key_id, window_seconds
  ON CONFLICT (key_id, window_seconds, window_start) DO UPDATE SET count = w.count + EXCLUDED.count
  RETURNING key_id, window_seconds, window_start, count
), touched AS (
  UPDATE api_keys SET last_used_at = now()
   WHERE id IN (SELECT key_id FROM input WHERE minute_delta > 0 OR hour_delta > 0)
     AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')
  RETURNING id
)
SELECT (k.id IS NOT NULL AND k.revoked_at IS NULL AND u.disabled_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > now())) AS active,
       COALESCE(bm.count, cm.count, 0)::int AS minute_total,
       COALESCE(bh.count, ch.count, 0)::int AS hour_total
  FROM input i
  LEFT JOIN api_keys k ON k.id = i.key_id
  LEFT JOIN users u ON u.id = k.user_id
  LEFT JOIN bumped bm ON bm.key_id = i.key_id AND bm.window_seconds = 60 AND bm.window_start = i.minute_start
  LEFT JOIN key_rate_windows cm ON cm.key_id = i.key_id AND cm.window_seconds = 60 AND cm.window_start = i.minute_start
  LEFT JOIN bumped bh ON bh.key_id = i.key_id AND bh.window_seconds = 3600 AND bh.window_start = i.hour_start
  LEFT JOIN key_rate_windows ch ON ch.key_id = i.key_id AND ch.window_seconds = 3600 AND ch.window_start = i.hour_start`;

export async function syncUsage(db: Queryable, batch: UsageBatch): Promise<SyncResult> {
  const { rows } = await db.query<[boolean, number, number]>({
    text: `${SYNC_SQL}\n ORDER BY i.n`,
    values: [batch.keyIds, new Date(batch.starts.minute), batch.deltas.minute, new Date(batch.starts.hour), batch.deltas.hour],
    rowMode: 'array',
  });
  return {
    active: rows.map((r) => r[0]),
    totals: { minute: rows.map((r) => r[1]), hour: rows.map((r) => r[2]) },
  };
}

/** Drops windows that ended more than five minutes ago. Safe to run on several instances at once. */
export async function deleteEndedRateWindows(db: Queryable): Promise<number> {
  return sweep(db, 'key_rate_windows', `window_start + make_interval(secs => window_seconds) < now() - interval '5 minutes'`);
}
