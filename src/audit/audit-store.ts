import type { Queryable } from '../db/pool.js';
import { sweep } from '../db/sweep.js';
import type { AuditDetail, NewAuditEvent } from './events.js';

export interface AuditEvent {
  id: string;
  /** Microsecond-precise timestamp text (ISO 8601, UTC): `at` values can share a millisecond. */
  at: string;
  type: string;
  keyPrefix: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: AuditDetail;
}

/** Events are kept this long by default (RETENTION_AUDIT_DAYS); housekeeping deletes older ones. */
export const AUDIT_RETENTION_DAYS = 365;
const MAX_USER_AGENT = 512;

/** Inserts an event. Pass a transaction client to make it atomic with the change. */
export async function insertAuditEvent(db: Queryable, event: NewAuditEvent): Promise<void> {
  const { actor } = event;
  await db.query(
    `INSERT INTO audit_events (user_id, type, key_prefix, ip, user_agent, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
    [event.userId, event.type, actor.keyPrefix, actor.ip, actor.userAgent?.slice(0, MAX_USER_AGENT) ?? null, JSON.stringify(event.detail ?? {})],
  );
}

/** A position in a user's event list: strictly older than (at, id). */
export interface AuditCursor {
  at: string;
  id: string;
}

/** The user's events, newest first, strictly before `before` (a cursor, or a timestamp). */
export async function listAuditEvents(db: Queryable, userId: string, page: { limit: number; before?: AuditCursor | Date | undefined }): Promise<AuditEvent[]> {
  const before = page.before;
  const cursorAt = before instanceof Date ? before.toISOString() : (before?.at ?? null);
  // With a plain timestamp every event at exactly that instant is excluded too: no id bound.
  const cursorId = before instanceof Date || before === undefined ? null : before.id;
  const { rows } = await db.query<{ id: string; at: string; type: string; key_prefix: string | null; ip: string | null; user_agent: string | null; detail: AuditDetail }>(
    `SELECT id::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, type, key_prefix, ip, user_agent, detail
       FROM audit_events
      WHERE user_id = $1
        AND ($2::timestamptz IS NULL OR at < $2::timestamptz OR ($3::bigint IS NOT NULL AND at = $2::timestamptz AND id < $3::bigint))
      ORDER BY at DESC, id DESC
      LIMIT $4`,
    [userId, cursorAt, cursorId, page.limit],
  );
  return rows.map((r) => ({ id: r.id, at: r.at, type: r.type, keyPrefix: r.key_prefix, ip: r.ip, userAgent: r.user_agent, detail: r.detail }));
}

export async function deleteOldAuditEvents(db: Queryable, days = AUDIT_RETENTION_DAYS): Promise<number> {
  if (days <= 0) return 0;
  return sweep(db, 'audit_events', 'at < now() - make_interval(days => $1)', [days]);
}
