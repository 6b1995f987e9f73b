import type { Queryable } from '../db/pool.js';
import type { Scope } from './scopes.js';

/** Per-key rate-limit overrides; null means "the server default". */
export interface RateLimitOverrides {
  perMinute: number | null;
  perHour: number | null;
}

/** A key as the rest of the program sees it: never the hash, never the secret. */
export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string | null;
  prefix: string;
  scopes: Scope[];
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  rateLimit: RateLimitOverrides;
}

export interface KeyRow {
  id: string;
  user_id: string;
  public_id: string;
  name: string | null;
  scopes: Scope[];
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  rate_limit_per_minute: number | null;
  rate_limit_per_hour: number | null;
}

/** The public columns of `api_keys k` (never `secret_hash`), for queries that join. */
export const KEY_COLUMNS =
  'k.id, k.user_id, k.public_id, k.name, k.scopes, k.created_at, k.last_used_at, k.expires_at, k.rate_limit_per_minute, k.rate_limit_per_hour';

/** A key that can still work: not revoked, not expired (the owner's state is checked separately). */
const KEY_IS_LIVE = 'k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())';

export function toRecord(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: `sk_${row.public_id}`,
    scopes: row.scopes,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    rateLimit: { perMinute: row.rate_limit_per_minute, perHour: row.rate_limit_per_hour },
  };
}

export interface NewKey {
  userId: string;
  publicId: string;
  name: string | null;
  secretHash: string;
  scopes: readonly Scope[];
  expiresAt: Date | null;
  rateLimit?: RateLimitOverrides | undefined;
}

export async function insertKey(db: Queryable, key: NewKey): Promise<ApiKeyRecord> {
  const { rows } = await db.query<KeyRow>(
    `INSERT INTO api_keys AS k (user_id, public_id, name, secret_hash, scopes, expires_at, rate_limit_per_minute, rate_limit_per_hour)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${KEY_COLUMNS}`,
    [key.userId, key.publicId, key.name, key.secretHash, key.scopes, key.expiresAt, key.rateLimit?.perMinute ?? null, key.rateLimit?.perHour ?? null],
  );
  return toRecord(rows[0] as KeyRow);
}

/**
 * The one lookup on the cold verification path: by public id, only keys that can still work
 * (not revoked, not expired, owner not disabled). Returns the hash for the bcrypt compare.
 */
export async function findActiveKeyForVerification(
  db: Queryable,
  publicId: string,
): Promise<{ record: ApiKeyRecord; secretHash: string } | undefined> {
  const { rows } = await db.query<KeyRow & { secret_hash: string }>(
    `SELECT ${KEY_COLUMNS}, k.secret_hash
       FROM api_keys k JOIN users u ON u.id = k.user_id
      WHERE k.public_id = $1 AND ${KEY_IS_LIVE} AND u.disabled_at IS NULL`,
    [publicId],
  );
  const row = rows[0];
  return row ? { record: toRecord(row), secretHash: row.secret_hash } : undefined;
}

/** A working key by id (owner not disabled), without its hash: re-checks a key already proven by bcrypt. */
export async function findActiveKeyById(db: Queryable, keyId: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query<KeyRow>(
    `SELECT ${KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id
      WHERE k.id = $1 AND ${KEY_IS_LIVE} AND u.disabled_at IS NULL`,
    [keyId],
  );
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** The user's working keys, newest first. */
export async function listLiveKeys(db: Queryable, userId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<KeyRow>(
    `SELECT ${KEY_COLUMNS} FROM api_keys k WHERE k.user_id = $1 AND ${KEY_IS_LIVE} ORDER BY k.created_at DESC, k.id`,
    [userId],
  );
  return rows.map(toRecord);
}

export async function countLiveKeys(db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys k WHERE k.user_id = $1 AND ${KEY_IS_LIVE}`, [userId]);
  return rows[0]?.n ?? 0;
}

/**
 * One of the user's working keys, optionally locked for a rotation. Another user's key id is
 * indistinguishable from a missing one, so callers answer 404 for both.
 */
export async function findLiveKeyOfUser(
  db: Queryable,
  userId: string,
  keyId: string,
  forUpdate = false,
): Promise<(ApiKeyRecord & { replacedBy: string | null }) | undefined> {
  const { rows } = await db.query<KeyRow & { replaced_by: string | null }>(
    `SELECT ${KEY_COLUMNS}, k.replaced_by FROM api_keys k
      WHERE k.id = $1 AND k.user_id = $2 AND ${KEY_IS_LIVE}${forUpdate ? ' FOR UPDATE' : ''}`,
    [keyId, userId],
  );
  const row = rows[0];
  return row ? { ...toRecord(row), replacedBy: row.replaced_by } : undefined;
}

/** Revokes a working key; `userId` null (operator) revokes whoever owns it. Returns the key, or undefined. */
export async function revokeKey(db: Queryable, keyId: string, userId: string | null): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query<KeyRow>(
    `UPDATE api_keys k SET revoked_at = now()
      WHERE k.id = $1 AND ($2::uuid IS NULL OR k.user_id = $2) AND ${KEY_IS_LIVE}
      RETURNING ${KEY_COLUMNS}`,
    [keyId, userId],
  );
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/**
 * Retires a rotated key: with no grace it is revoked now; otherwise it expires after the grace
 * period (never later than it would have anyway). Returns when it stops working.
 */
export async function retireRotatedKey(db: Queryable, keyId: string, replacedBy: string, graceSeconds: number): Promise<Date> {
  const { rows } = await db.query<{ ends_at: Date }>(
    `UPDATE api_keys SET replaced_by = $2,
            revoked_at = CASE WHEN $3::int = 0 THEN now() ELSE revoked_at END,
            expires_at = CASE WHEN $3::int = 0 THEN expires_at
                              ELSE LEAST(COALESCE(expires_at, 'infinity'), now() + make_interval(secs => $3::int)) END
      WHERE id = $1
      RETURNING COALESCE(revoked_at, expires_at) AS ends_at`,
    [keyId, replacedBy, graceSeconds],
  );
  return (rows[0] as { ends_at: Date }).ends_at;
}

/** Every key (any state) for the operator CLI, optionally of one user, newest first. */
export async function listKeysForOperator(
  db: Queryable,
  userId: string | null,
): Promise<Array<ApiKeyRecord & { state: 'active' | 'revoked' | 'expired' }>> {
  const { rows } = await db.query<KeyRow & { state: 'active' | 'revoked' | 'expired' }>(
    `SELECT ${KEY_COLUMNS},
            CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked'
                 WHEN k.expires_at IS NOT NULL AND k.expires_at <= now() THEN 'expired'
                 ELSE 'active' END AS state
       FROM api_keys k WHERE ($1::uuid IS NULL OR k.user_id = $1) ORDER BY k.user_id, k.created_at DESC`,
    [userId],
  );
  return rows.map((row) => ({ ...toRecord(row), state: row.state }));
}

/** A key id from a display prefix (`sk_<public id>`), for operators who only have the prefix. */
export async function findKeyIdByPublicId(db: Queryable, publicId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM api_keys WHERE public_id = $1', [publicId]);
  return rows[0]?.id;
}
