import type { Queryable } from '../db/pool.js';
import { sweep } from '../db/sweep.js';
import { newSecret, sha256 } from '../crypto/secrets.js';

/**
 * A minimal "this browser signed in as user X" memory, so a returning browser can skip the
 * consent page. The cookie holds 256 random bits; the server keeps only their SHA-256, so
 * neither a database leak nor a guess yields a usable cookie (no signing key needed).
 */
export const SESSION_TTL_SECONDS = 30 * 24 * 60 * 60;

export async function createSession(db: Queryable, userId: string): Promise<string> {
  const value = newSecret();
  await db.query(`INSERT INTO oauth_sessions (id_hash, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`, [
    sha256(value),
    userId,
    SESSION_TTL_SECONDS,
  ]);
  return value;
}

/** The signed-in user and their display name, unless the session expired or the user is disabled. */
export async function findSessionUser(db: Queryable, value: string): Promise<{ userId: string; name: string | null } | undefined> {
  const { rows } = await db.query<{ user_id: string; name: string | null }>(
    `SELECT s.user_id, u.name FROM oauth_sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL`,
    [sha256(value)],
  );
  const row = rows[0];
  return row ? { userId: row.user_id, name: row.name } : undefined;
}

export async function deleteExpiredSessions(db: Queryable, graceHours = 0): Promise<number> {
  return sweep(db, 'oauth_sessions', 'expires_at <= now() - make_interval(hours => $1)', [graceHours]);
}
