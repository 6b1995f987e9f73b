import type { Queryable } from '../db/pool.js';
import { sweep } from '../db/sweep.js';
import { KEY_COLUMNS, toRecord, type ApiKeyRecord, type KeyRow } from '../keys/key-store.js';
import type { UsageBatch, WindowTotals } from './key-rate-limiter.js';

export interface SyncedKey {
  keyId: string;
  /** The key's current record, or undefined when it no longer works (revoked, expired, owner disabled, gone). */
  record: ApiKeyRecord | undefined;
  totals: WindowTotals;
}

/**
 * The usage sync's one statement, so that no request ever waits on the database for limits or
 * key status. In a single round trip it:
 *  1. adds each key's new counts to its minute and hour window rows (upsert),
 *  2. stamps `last_used_at` on used keys, at most once a minute each,
 *  3. returns every listed key's global window totals and current status.
 * Rows are upserted in key order so that instances flushing together lock them in the same order.
 */
const SYNC_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::timestamptz[], $5::int[])
    AS t(key_id, minute_start, minute_delta, hour_start, hour_delta)
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
SELECT i.key_id,
       (k.id IS NOT NULL AND k.revoked_at IS NULL AND u.disabled_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > now())) AS active,
       ${KEY_COLUMNS},
       COALESCE(bm.count, cm.count, 0)::int AS minute_total,
       COALESCE(bh.count, ch.count, 0)::int AS hour_total
  FROM input i
  LEFT JOIN api_keys k ON k.id = i.key_id
  LEFT JOIN users u ON u.id = k.user_id
  LEFT JOIN bumped bm ON bm.key_id = i.key_id AND bm.window_seconds = 60 AND bm.window_start = i.minute_start
  LEFT JOIN key_rate_windows cm ON cm.key_id = i.key_id AND cm.window_seconds = 60 AND cm.window_start = i.minute_start
  LEFT JOIN bumped bh ON bh.key_id = i.key_id AND bh.window_seconds = 3600 AND bh.window_start = i.hour_start
  LEFT JOIN key_rate_windows ch ON ch.key_id = i.key_id AND ch.window_seconds = 3600 AND ch.window_start = i.hour_start`;

export async function syncUsage(db: Queryable, batch: UsageBatch): Promise<SyncedKey[]> {
  const sorted = [...batch].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
  const { rows } = await db.query<KeyRow & { key_id: string; active: boolean; minute_total: number; hour_total: number }>(SYNC_SQL, [
    sorted.map((d) => d.keyId),
    sorted.map((d) => new Date(d.windows.minute.start)),
    sorted.map((d) => d.windows.minute.delta),
    sorted.map((d) => new Date(d.windows.hour.start)),
    sorted.map((d) => d.windows.hour.delta),
  ]);
  return rows.map((row) => ({
    keyId: row.key_id,
    record: row.active ? toRecord(row) : undefined,
    totals: { minute: row.minute_total, hour: row.hour_total },
  }));
}

/** Drops windows that ended more than five minutes ago. Safe to run on several instances at once. */
export async function deleteEndedRateWindows(db: Queryable): Promise<number> {
  return sweep(db, 'key_rate_windows', `window_start + make_interval(secs => window_seconds) < now() - interval '5 minutes'`);
}
