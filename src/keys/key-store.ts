import type { Queryable } from '../db/pool.js';
import type { Scope } from './scopes.js';

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
}

interface KeyRow {
  id: string;
  user_id: string;
  public_id: string;
  name: string | null;
  scopes: Scope[];
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
}

const PUBLIC_COLUMNS = 'id, user_id, public_id, name, scopes, created_at, last_used_at, expires_at';

function toRecord(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: `sk_${row.public_id}`,
    scopes: row.scopes,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
  };
}

export async function insertKey(
  db: Queryable,
  key: { userId: string; publicId: string; name: string | null; secretHash: string; scopes: readonly Scope[]; expiresAt: Date | null },
): Promise<ApiKeyRecord> {
  const { rows } = await db.query<KeyRow>(
    `INSERT INTO api_keys (user_id, public_id, name, secret_hash, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${PUBLIC_COLUMNS}`,
    [key.userId, key.publicId, key.name, key.secretHash, key.scopes, key.expiresAt],
  );
  return toRecord(rows[0] as KeyRow);
}

/**
 * The one lookup on the verification path: by public id, only keys that can still work
 * (not revoked, not expired, owner not disabled). Returns the hash for the bcrypt compare.
 */
export async function findActiveKeyForVerification(
  db: Queryable,
  publicId: string,
): Promise<{ record: ApiKeyRecord; secretHash: string } | undefined> {
  const { rows } = await db.query<KeyRow & { secret_hash: string }>(
    `SELECT k.id, k.user_id, k.public_id, k.name, k.scopes, k.created_at, k.last_used_at, k.expires_at, k.secret_hash
       FROM api_keys k JOIN users u ON u.id = k.user_id
      WHERE k.public_id = $1 AND k.revoked_at IS NULL AND u.disabled_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > now())`,
    [publicId],
  );
  const row = rows[0];
  return row ? { record: toRecord(row), secretHash: row.secret_hash } : undefined;
}

export async function touchLastUsed(db: Queryable, keyId: string): Promise<void> {
  await db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [keyId]);
}
