import type { Queryable } from '../db/pool.js';
import { sweep } from '../db/sweep.js';
import type { DayRange } from './days.js';

/** Calls to add to one (user, day, provider, tool) counter. */
export interface UsageIncrement {
  userId: string;
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  providerId: string;
  tool: string;
  ok: number;
  error: number;
}

/** One line of a user's report (the `GET /api/usage` shape). */
export interface UsageLine {
  day: string;
  provider: string;
  tool: string;
  ok: number;
  error: number;
}

/** One line of the operator's report across users. */
export interface UsageReportLine extends UsageLine {
  user_id: string;
  user_name: string | null;
}

/**
 * Adds every increment in ONE statement, whatever the batch size. Rows go in the order given;
 * callers sort them, so two instances flushing overlapping counters lock rows in the same order
 * and cannot deadlock. Counts for a user deleted meanwhile are dropped instead of failing the batch.
 */
export async function addUsage(db: Queryable, increments: readonly UsageIncrement[]): Promise<void> {
  if (increments.length === 0) return;
  await db.query(
    `INSERT INTO tool_usage (user_id, day, provider_id, tool, ok, error)
     SELECT u.user_id, u.day, u.provider_id, u.tool, u.ok, u.error
       FROM unnest($1::uuid[], $2::date[], $3::text[], $4::text[], $5::int[], $6::int[])
            WITH ORDINALITY AS u(user_id, day, provider_id, tool, ok, error, n)
      WHERE EXISTS (SELECT 1 FROM users WHERE users.id = u.user_id)
      ORDER BY u.n
     ON CONFLICT (user_id, day, provider_id, tool)
     DO UPDATE SET ok = tool_usage.ok + EXCLUDED.ok, error = tool_usage.error + EXCLUDED.error`,
    [
      increments.map((i) => i.userId),
      increments.map((i) => i.day),
      increments.map((i) => i.providerId),
      increments.map((i) => i.tool),
      increments.map((i) => i.ok),
      increments.map((i) => i.error),
    ],
  );
}

/** A user's own counters in the range, oldest day first. */
export async function usageOfUser(db: Queryable, userId: string, range: DayRange): Promise<UsageLine[]> {
  const { rows } = await db.query<UsageLine>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, provider_id AS provider, tool, ok, error
       FROM tool_usage
      WHERE user_id = $1 AND day BETWEEN $2::date AND $3::date
      ORDER BY day, provider_id, tool`,
    [userId, range.from, range.to],
  );
  return rows;
}

/** Every user's counters in the range (optionally one user's or one provider's), for operators. */
export async function usageReport(db: Queryable, filter: DayRange & { userId?: string | undefined; providerId?: string | undefined }): Promise<UsageReportLine[]> {
  const { rows } = await db.query<UsageReportLine>(
    `SELECT to_char(t.day, 'YYYY-MM-DD') AS day, t.user_id, u.name AS user_name, t.provider_id AS provider, t.tool, t.ok, t.error
       FROM tool_usage t JOIN users u ON u.id = t.user_id
      WHERE t.day BETWEEN $1::date AND $2::date
        AND ($3::uuid IS NULL OR t.user_id = $3::uuid)
        AND ($4::text IS NULL OR t.provider_id = $4::text)
      ORDER BY t.day, t.user_id, t.provider_id, t.tool`,
    [filter.from, filter.to, filter.userId ?? null, filter.providerId ?? null],
  );
  return rows;
}

/** Housekeeping: usage rows of days older than `days` (0 keeps every day). */
export async function deleteOldUsage(db: Queryable, days: number): Promise<number> {
  if (days <= 0) return 0;
  // UTC days, as they were counted (usage/days.ts).
  return sweep(db, 'tool_usage', "day < (now() AT TIME ZONE 'UTC')::date - $1::int", [days]);
}
