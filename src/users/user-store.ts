import type { Queryable } from '../db/pool.js';

export async function insertUser(db: Queryable, name: string | null): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO users (name) VALUES ($1) RETURNING id', [name]);
  return rows[0] as { id: string };
}

export interface UserSummary {
  id: string;
  name: string | null;
  createdAt: Date;
  disabledAt: Date | null;
  liveKeys: number;
}

/** Every user with their number of working keys, oldest first (operator CLI). */
export async function listUsers(db: Queryable): Promise<UserSummary[]> {
  const { rows } = await db.query<{ id: string; name: string | null; created_at: Date; disabled_at: Date | null; live_keys: number }>(
    `SELECT u.id, u.name, u.created_at, u.disabled_at,
            (SELECT count(*)::int FROM api_keys k
              WHERE k.user_id = u.id AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())) AS live_keys
       FROM users u ORDER BY u.created_at, u.id`,
  );
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, disabledAt: r.disabled_at, liveKeys: r.live_keys }));
}

/** Disables (or re-enables) a user; every key of a disabled user stops working. False when no such user. */
export async function setUserDisabled(db: Queryable, userId: string, disabled: boolean): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE users SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, now()) ELSE NULL END WHERE id = $1`,
    [userId, disabled],
  );
  return (rowCount ?? 0) > 0;
}

/** Whether the user exists and is not disabled: one read by primary key (the IdP tokens' standing re-check). */
export async function isUserActive(db: Queryable, userId: string): Promise<boolean> {
  const { rows } = await db.query<{ active: boolean }>('SELECT disabled_at IS NULL AS active FROM users WHERE id = $1', [userId]);
  return rows[0]?.active === true;
}
