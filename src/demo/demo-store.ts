import type { Queryable } from '../db/pool.js';
import { newSecret, sha256 } from '../crypto/secrets.js';

/**
 * Storage of the demo upstream: codes and tokens (as SHA-256 hashes only), and the notes its API
 * serves. Explicit SQL; single-use codes and rotated refresh tokens are consumed atomically.
 */

export interface DemoGrant {
  account: string;
  scopes: string[];
}

export interface DemoCode extends DemoGrant {
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
}

export interface DemoTokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/** A code lives a minute: the browser carries it straight back to the callback. */
const CODE_TTL_SECONDS = 60;
/** A refresh token outlives many access tokens; a month is what a demo needs. */
const REFRESH_TTL_SECONDS = 30 * 24 * 3600;

export async function insertDemoCode(db: Queryable, code: DemoCode): Promise<string> {
  const value = newSecret('demo_code_');
  await db.query(
    `INSERT INTO demo_codes (code_hash, account, client_id, redirect_uri, code_challenge, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
    [sha256(value), code.account, code.clientId, code.redirectUri, code.codeChallenge, code.scopes, CODE_TTL_SECONDS],
  );
  return value;
}

/** Single use (RFC 6749 §4.1.2): the row is gone whether or not the rest of the exchange succeeds. */
export async function consumeDemoCode(db: Queryable, code: string): Promise<DemoCode | undefined> {
  const { rows } = await db.query<{ account: string; client_id: string; redirect_uri: string; code_challenge: string | null; scopes: string[] }>(
    `DELETE FROM demo_codes WHERE code_hash = $1 AND expires_at > now()
     RETURNING account, client_id, redirect_uri, code_challenge, scopes`,
    [sha256(code)],
  );
  const row = rows[0];
  return row && { account: row.account, clientId: row.client_id, redirectUri: row.redirect_uri, codeChallenge: row.code_challenge, scopes: row.scopes };
}

/** Mints an access and a refresh token for a grant (a new one, or the grant being refreshed). */
export async function issueDemoTokens(db: Queryable, grant: DemoGrant & { grantId?: string }, accessTtlSeconds: number): Promise<DemoTokenPair> {
  const accessToken = newSecret('demo_at_');
  const refreshToken = newSecret('demo_rt_');
  await db.query(
    `WITH g AS (SELECT COALESCE($1::uuid, gen_random_uuid()) AS id)
     INSERT INTO demo_tokens (token_hash, grant_id, kind, account, scopes, expires_at)
     SELECT $2::bytea, g.id, 'access', $4::text, $5::text[], now() + make_interval(secs => $6) FROM g
     UNION ALL
     SELECT $3::bytea, g.id, 'refresh', $4::text, $5::text[], now() + make_interval(secs => $7) FROM g`,
    [grant.grantId ?? null, sha256(accessToken), sha256(refreshToken), grant.account, grant.scopes, accessTtlSeconds, REFRESH_TTL_SECONDS],
  );
  return { accessToken, refreshToken, expiresIn: accessTtlSeconds };
}

/** Refresh token rotation: the old refresh token is consumed; a reused one finds nothing. */
export async function consumeDemoRefreshToken(db: Queryable, token: string): Promise<(DemoGrant & { grantId: string }) | undefined> {
  const { rows } = await db.query<{ grant_id: string; account: string; scopes: string[] }>(
    `DELETE FROM demo_tokens WHERE token_hash = $1 AND kind = 'refresh' AND expires_at > now()
     RETURNING grant_id, account, scopes`,
    [sha256(token)],
  );
  const row = rows[0];
  return row && { grantId: row.grant_id, account: row.account, scopes: row.scopes };
}

/** RFC 7009 §2.1: revoking either token of a grant ends the whole grant. Unknown tokens are no error. */
export async function revokeDemoGrant(db: Queryable, token: string): Promise<number> {
  const result = await db.query(`DELETE FROM demo_tokens WHERE grant_id IN (SELECT grant_id FROM demo_tokens WHERE token_hash = $1)`, [sha256(token)]);
  return result.rowCount ?? 0;
}

/** Who a live access token belongs to. */
export async function findDemoAccessToken(db: Queryable, token: string): Promise<DemoGrant | undefined> {
  const { rows } = await db.query<{ account: string; scopes: string[] }>(
    `SELECT account, scopes FROM demo_tokens WHERE token_hash = $1 AND kind = 'access' AND expires_at > now()`,
    [sha256(token)],
  );
  return rows[0];
}

/** For housekeeping: expired codes and tokens. */
export async function deleteExpiredDemoRows(db: Queryable): Promise<number> {
  const codes = await db.query(`DELETE FROM demo_codes WHERE expires_at <= now()`);
  const tokens = await db.query(`DELETE FROM demo_tokens WHERE expires_at <= now()`);
  return (codes.rowCount ?? 0) + (tokens.rowCount ?? 0);
}
