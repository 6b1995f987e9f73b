import type { Queryable } from '../db/pool.js';
import { sweep } from '../db/sweep.js';
import { newSecret, sha256 } from '../crypto/secrets.js';

/** OAuth 2.1 §4.1.2 wants codes short-lived; a client redeems its code within a second or two. */
export const CODE_TTL_SECONDS = 60;

export interface AuthorizationCode {
  codeHash: Buffer;
  clientId: string;
  userId: string;
  redirectUri: string;
  codeChallenge: string;
  resource: string;
  scopes: string[];
  expired: boolean;
}

/** Mints a code; returns the only plaintext copy. */
export async function insertCode(db: Queryable, c: Omit<AuthorizationCode, 'codeHash' | 'expired'>): Promise<string> {
  const code = newSecret('mcp_ac_');
  await db.query(
    `INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, code_challenge, resource, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))`,
    [sha256(code), c.clientId, c.userId, c.redirectUri, c.codeChallenge, c.resource, c.scopes, CODE_TTL_SECONDS],
  );
  return code;
}

/** Deletes and returns the code in one statement: two concurrent redemptions cannot both win. */
export async function consumeCode(db: Queryable, code: string): Promise<AuthorizationCode | undefined> {
  const { rows } = await db.query<{
    code_hash: Buffer;
    client_id: string;
    user_id: string;
    redirect_uri: string;
    code_challenge: string;
    resource: string;
    scopes: string[];
    expired: boolean;
  }>(
    `DELETE FROM oauth_codes WHERE code_hash = $1
     RETURNING code_hash, client_id, user_id, redirect_uri, code_challenge, resource, scopes, expires_at <= now() AS expired`,
    [sha256(code)],
  );
  const row = rows[0];
  return row
    ? {
        codeHash: row.code_hash,
        clientId: row.client_id,
        userId: row.user_id,
        redirectUri: row.redirect_uri,
        codeChallenge: row.code_challenge,
        resource: row.resource,
        scopes: row.scopes,
        expired: row.expired,
      }
    : undefined;
}

export async function deleteExpiredCodes(db: Queryable, graceHours = 0): Promise<number> {
  return sweep(db, 'oauth_codes', 'expires_at <= now() - make_interval(hours => $1)', [graceHours]);
}
