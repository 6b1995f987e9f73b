import type { Queryable } from '../db/pool.js';
import { sweep } from '../db/sweep.js';
import { newSecret, sha256 } from '../crypto/secrets.js';

/** A grant: one token family, from one authorization code. */
export interface Grant {
  id: string;
  clientId: string;
  userId: string;
  scopes: string[];
  resource: string;
}

export async function insertGrant(db: Queryable, g: Omit<Grant, 'id'> & { codeHash: Buffer }): Promise<Grant> {
  const { rows } = await db.query<{ id: string }>(
    'INSERT INTO oauth_grants (client_id, user_id, scopes, resource, code_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id',
    [g.clientId, g.userId, g.scopes, g.resource, g.codeHash],
  );
  return { id: (rows[0] as { id: string }).id, clientId: g.clientId, userId: g.userId, scopes: g.scopes, resource: g.resource };
}

/** Deleting the grant revokes every access and refresh token of the family (ON DELETE CASCADE). */
export async function deleteGrant(db: Queryable, grantId: string): Promise<void> {
  await db.query('DELETE FROM oauth_grants WHERE id = $1', [grantId]);
}

/** The family an already-redeemed code started, for revoking it when the code is replayed. */
export async function findGrantIdByCode(db: Queryable, codeHash: Buffer): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM oauth_grants WHERE code_hash = $1', [codeHash]);
  return rows[0]?.id;
}

export async function insertAccessToken(db: Queryable, grant: Grant, scopes: readonly string[], ttlSeconds: number): Promise<string> {
  const token = newSecret('mcp_at_');
  await db.query(
    `INSERT INTO oauth_access_tokens (token_hash, grant_id, user_id, client_id, scopes, resource, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
    [sha256(token), grant.id, grant.userId, grant.clientId, [...scopes], grant.resource, ttlSeconds],
  );
  return token;
}

export async function insertRefreshToken(db: Queryable, grantId: string, parentHash: Buffer | null, ttlSeconds: number): Promise<string> {
  const token = newSecret('mcp_rt_');
  await db.query(
    `INSERT INTO oauth_refresh_tokens (token_hash, grant_id, parent_hash, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
    [sha256(token), grantId, parentHash, ttlSeconds],
  );
  return token;
}

/** A presented refresh token, read under a lock on its grant so one family refreshes at a time. */
export interface LockedRefreshToken {
  tokenHash: Buffer;
  parentHash: Buffer | null;
  grant: Grant;
  used: boolean;
  expired: boolean;
  /** Used, but less than the grace period ago. */
  inGrace: boolean;
  /** One of the tokens issued in exchange for this one has been used since. */
  successorUsed: boolean;
  userDisabled: boolean;
}

export async function lockRefreshToken(db: Queryable, token: string, graceSeconds: number): Promise<LockedRefreshToken | undefined> {
  const { rows } = await db.query<{
    token_hash: Buffer;
    parent_hash: Buffer | null;
    grant_id: string;
    client_id: string;
    user_id: string;
    scopes: string[];
    resource: string;
    used: boolean;
    expired: boolean;
    in_grace: boolean;
    successor_used: boolean;
    user_disabled: boolean;
  }>(
    `SELECT r.token_hash, r.parent_hash, g.id AS grant_id, g.client_id, g.user_id, g.scopes, g.resource,
            r.used_at IS NOT NULL AS used, r.expires_at <= now() AS expired,
            r.used_at IS NOT NULL AND r.used_at + make_interval(secs => $2) > now() AS in_grace,
            EXISTS (SELECT 1 FROM oauth_refresh_tokens c WHERE c.parent_hash = r.token_hash AND c.used_at IS NOT NULL) AS successor_used,
            u.disabled_at IS NOT NULL AS user_disabled
       FROM oauth_refresh_tokens r
       JOIN oauth_grants g ON g.id = r.grant_id
       JOIN users u ON u.id = g.user_id
      WHERE r.token_hash = $1
        FOR UPDATE OF g`,
    [sha256(token), graceSeconds],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    tokenHash: row.token_hash,
    parentHash: row.parent_hash,
    grant: { id: row.grant_id, clientId: row.client_id, userId: row.user_id, scopes: row.scopes, resource: row.resource },
    used: row.used,
    expired: row.expired,
    inGrace: row.in_grace,
    successorUsed: row.successor_used,
    userDisabled: row.user_disabled,
  };
}

/**
 * First use of a refresh token: mark it used, and drop the unused alternatives its parent handed
 * out during the parent's grace period (the client has settled on this one).
 */
export async function markRefreshTokenUsed(db: Queryable, tokenHash: Buffer, parentHash: Buffer | null): Promise<void> {
  await db.query('UPDATE oauth_refresh_tokens SET used_at = now() WHERE token_hash = $1', [tokenHash]);
  if (parentHash) {
    await db.query('DELETE FROM oauth_refresh_tokens WHERE parent_hash = $1 AND token_hash <> $2 AND used_at IS NULL', [parentHash, tokenHash]);
  }
}

/** A usable access token: its hash is the primary key, so this is one indexed read. */
export interface AccessTokenRecord {
  grantId: string;
  userId: string;
  clientId: string;
  scopes: string[];
  resource: string;
}

export async function findAccessToken(db: Queryable, token: string): Promise<AccessTokenRecord | undefined> {
  const { rows } = await db.query<{ grant_id: string; user_id: string; client_id: string; scopes: string[]; resource: string }>(
    `SELECT t.grant_id, t.user_id, t.client_id, t.scopes, t.resource
       FROM oauth_access_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_hash = $1 AND t.expires_at > now() AND u.disabled_at IS NULL`,
    [sha256(token)],
  );
  const row = rows[0];
  return row ? { grantId: row.grant_id, userId: row.user_id, clientId: row.client_id, scopes: row.scopes, resource: row.resource } : undefined;
}

/** For revocation (RFC 7009): which grant and client a token, of either kind, belongs to. */
export async function findTokenForRevocation(db: Queryable, token: string): Promise<{ kind: 'access_token' | 'refresh_token'; grantId: string; clientId: string } | undefined> {
  const { rows } = await db.query<{ kind: 'access_token' | 'refresh_token'; grant_id: string; client_id: string }>(
    `SELECT 'access_token' AS kind, grant_id, client_id FROM oauth_access_tokens WHERE token_hash = $1
     UNION ALL
     SELECT 'refresh_token', r.grant_id, g.client_id FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id WHERE r.token_hash = $1`,
    [sha256(token)],
  );
  const row = rows[0];
  return row ? { kind: row.kind, grantId: row.grant_id, clientId: row.client_id } : undefined;
}

export async function deleteAccessToken(db: Queryable, token: string): Promise<void> {
  await db.query('DELETE FROM oauth_access_tokens WHERE token_hash = $1', [sha256(token)]);
}

/** Expired tokens, and grants with nothing left in them (their code is long dead too). */
export async function deleteExpiredTokens(db: Queryable, graceHours = 0): Promise<number> {
  const expired = 'expires_at <= now() - make_interval(hours => $1)';
  const access = await sweep(db, 'oauth_access_tokens', expired, [graceHours]);
  const refresh = await sweep(db, 'oauth_refresh_tokens', expired, [graceHours]);
  const grants = await sweep(
    db,
    'oauth_grants',
    `created_at < now() - interval '1 day'
       AND NOT EXISTS (SELECT 1 FROM oauth_access_tokens t WHERE t.grant_id = oauth_grants.id)
       AND NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens r WHERE r.grant_id = oauth_grants.id)`,
  );
  return access + refresh + grants;
}
