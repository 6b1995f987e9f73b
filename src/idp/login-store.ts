import type { Cipher } from '../crypto/cipher.js';
import type { Queryable } from '../db/pool.js';
import { sha256 } from '../crypto/secrets.js';

/** A login at the IdP may take this long (typing a password, a second factor). */
export const IDP_LOGIN_TTL_SECONDS = 600;

export interface IdpLoginRecord {
  browserHash: Buffer;
  nonce: string;
  codeVerifier: string;
  authorizationRequestId: string | null;
}

export async function insertIdpLogin(db: Queryable, cipher: Cipher, state: string, login: IdpLoginRecord): Promise<void> {
  await db.query(
    `INSERT INTO idp_logins (state_hash, browser_hash, nonce, code_verifier_enc, authorization_request_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [sha256(state), login.browserHash, login.nonce, cipher.encrypt(login.codeVerifier, 'idp-login'), login.authorizationRequestId, IDP_LOGIN_TTL_SECONDS],
  );
}

/** Single use (STYLE §6): the row is deleted as it is read, so a replayed callback finds nothing. */
export async function consumeIdpLogin(db: Queryable, cipher: Cipher, state: string): Promise<IdpLoginRecord | undefined> {
  const { rows } = await db.query<{ browser_hash: Buffer; nonce: string; code_verifier_enc: string; authorization_request_id: string | null }>(
    `DELETE FROM idp_logins WHERE state_hash = $1 AND expires_at > now()
     RETURNING browser_hash, nonce, code_verifier_enc, authorization_request_id`,
    [sha256(state)],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { browserHash: row.browser_hash, nonce: row.nonce, codeVerifier: cipher.decrypt(row.code_verifier_enc, 'idp-login'), authorizationRequestId: row.authorization_request_id };
}

export async function deleteExpiredIdpLogins(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM idp_logins WHERE expires_at <= now()');
  return rowCount ?? 0;
}
