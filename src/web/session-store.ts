import type { Queryable } from '../db/pool.js';
import { sweep } from '../db/sweep.js';
import { KEY_COLUMNS, toRecord, type ApiKeyRecord, type KeyRow } from '../keys/key-store.js';
import { newSecret, sha256 } from '../crypto/secrets.js';

/** A session unused this long is over (a forgotten tab on a shared computer). */
export const IDLE_TIMEOUT_SECONDS = 12 * 60 * 60;
/** However busy, a session ends this long after sign-in. */
export const ABSOLUTE_TIMEOUT_SECONDS = 7 * 24 * 60 * 60;
/** `last_seen_at` is written at most this often, so browsing costs no write per page. */
const TOUCH_AFTER_SECONDS = 60;

/** A live web session. */
export interface WebSessionRecord {
  /** SHA-256 of the cookie value: the row's key. */
  idHash: Buffer;
  userId: string;
  userName: string | null;
  /** The key the person signed in with, still working; null for registration and upstream sign-ins. */
  key: ApiKeyRecord | null;
  expiresAt: Date;
}

/** Creates a session and returns the cookie value (256 random bits; only their hash is stored). */
export async function insertWebSession(db: Queryable, session: { userId: string; keyId: string | null }): Promise<{ value: string; expiresAt: Date }> {
  const value = newSecret();
  const { rows } = await db.query<{ expires_at: Date }>(
    `INSERT INTO web_sessions (id_hash, user_id, key_id, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))
     RETURNING expires_at`,
    [sha256(value), session.userId, session.keyId, ABSOLUTE_TIMEOUT_SECONDS],
  );
  return { value, expiresAt: (rows[0] as { expires_at: Date }).expires_at };
}

/**
 * The session a cookie names, unless it is over: idle or absolute timeout, a disabled user, or
 * — for a session opened with an API key — a key that no longer works (revoked, expired).
 */
export async function findWebSession(db: Queryable, value: string): Promise<WebSessionRecord | undefined> {
  const idHash = sha256(value);
  const { rows } = await db.query<
    Omit<KeyRow, 'id'> & { id: string | null; session_user_id: string; user_name: string | null; session_expires_at: Date; stale: boolean }
  >(
    `SELECT s.user_id AS session_user_id, u.name AS user_name, s.expires_at AS session_expires_at,
            s.last_seen_at < now() - make_interval(secs => $3) AS stale, ${KEY_COLUMNS}
       FROM web_sessions s
       JOIN users u ON u.id = s.user_id
       LEFT JOIN api_keys k ON k.id = s.key_id
      WHERE s.id_hash = $1 AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(secs => $2)
        AND u.disabled_at IS NULL
        AND (s.key_id IS NULL OR (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())))`,
    [idHash, IDLE_TIMEOUT_SECONDS, TOUCH_AFTER_SECONDS],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.stale) await db.query('UPDATE web_sessions SET last_seen_at = now() WHERE id_hash = $1', [idHash]);
  return {
    idHash,
    userId: row.session_user_id,
    userName: row.user_name,
    key: row.id === null ? null : toRecord(row as KeyRow),
    expiresAt: row.session_expires_at,
  };
}

export async function deleteWebSession(db: Queryable, value: string): Promise<void> {
  await db.query('DELETE FROM web_sessions WHERE id_hash = $1', [sha256(value)]);
}

/** After a rotation, sessions opened with the old key go on with its replacement (the same person holds both). */
export async function moveSessionsToKey(db: Queryable, fromKeyId: string, toKeyId: string): Promise<void> {
  await db.query('UPDATE web_sessions SET key_id = $2 WHERE key_id = $1', [fromKeyId, toKeyId]);
}

/** Housekeeping: sessions past either timeout. */
export async function deleteExpiredWebSessions(db: Queryable): Promise<number> {
  return sweep(db, 'web_sessions', 'expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)', [IDLE_TIMEOUT_SECONDS]);
}
