import type { Queryable } from '../db/pool.js';
import { sweep } from '../db/sweep.js';

/** How long a user has from the consent page to the code (consent, upstream login, callback). */
export const AUTHORIZATION_REQUEST_TTL_SECONDS = 600;

/** A validated authorization request waiting for the user. */
export interface PendingAuthorization {
  id: string;
  clientId: string;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  resource: string;
  scopes: string[];
  browserHash: Buffer;
  csrfHash: Buffer;
  decidedAt: Date | null;
  userId: string | null;
}

interface Row {
  id: string;
  client_id: string;
  redirect_uri: string;
  state: string | null;
  code_challenge: string;
  resource: string;
  scopes: string[];
  browser_hash: Buffer;
  csrf_hash: Buffer;
  decided_at: Date | null;
  user_id: string | null;
}

const COLUMNS = 'id, client_id, redirect_uri, state, code_challenge, resource, scopes, browser_hash, csrf_hash, decided_at, user_id';

function toPending(row: Row): PendingAuthorization {
  return {
    id: row.id,
    clientId: row.client_id,
    redirectUri: row.redirect_uri,
    state: row.state,
    codeChallenge: row.code_challenge,
    resource: row.resource,
    scopes: row.scopes,
    browserHash: row.browser_hash,
    csrfHash: row.csrf_hash,
    decidedAt: row.decided_at,
    userId: row.user_id,
  };
}

export async function insertAuthorizationRequest(
  db: Queryable,
  r: Omit<PendingAuthorization, 'id' | 'decidedAt' | 'userId'> & { handleHash: Buffer },
): Promise<PendingAuthorization> {
  const { rows } = await db.query<Row>(
    `INSERT INTO oauth_authorization_requests
       (handle_hash, csrf_hash, browser_hash, client_id, redirect_uri, state, code_challenge, resource, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10)) RETURNING ${COLUMNS}`,
    [r.handleHash, r.csrfHash, r.browserHash, r.clientId, r.redirectUri, r.state, r.codeChallenge, r.resource, r.scopes, AUTHORIZATION_REQUEST_TTL_SECONDS],
  );
  return toPending(rows[0] as Row);
}

/** An undecided, unexpired request by its browser handle (for the consent form). */
export async function findUndecidedRequest(db: Queryable, handleHash: Buffer): Promise<PendingAuthorization | undefined> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM oauth_authorization_requests WHERE handle_hash = $1 AND decided_at IS NULL AND expires_at > now()`,
    [handleHash],
  );
  return rows[0] ? toPending(rows[0]) : undefined;
}

/**
 * Records the one approval a request gets (with the user when already known, and the scopes,
 * which an API key may have narrowed); false when another submission decided first.
 */
export async function markApproved(db: Queryable, id: string, userId: string | null, scopes: readonly string[]): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE oauth_authorization_requests SET decided_at = now(), user_id = $2, scopes = $3
      WHERE id = $1 AND decided_at IS NULL AND expires_at > now()`,
    [id, userId, [...scopes]],
  );
  return rowCount === 1;
}

/** An approved, unexpired request (for the upstream callback). */
export async function findApprovedRequest(db: Queryable, id: string): Promise<PendingAuthorization | undefined> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM oauth_authorization_requests WHERE id = $1 AND decided_at IS NOT NULL AND expires_at > now()`,
    [id],
  );
  return rows[0] ? toPending(rows[0]) : undefined;
}

/** Single use: the request ends in exactly one code or error, whichever path gets here first. */
export async function consumeAuthorizationRequest(db: Queryable, id: string): Promise<PendingAuthorization | undefined> {
  const { rows } = await db.query<Row>(`DELETE FROM oauth_authorization_requests WHERE id = $1 AND expires_at > now() RETURNING ${COLUMNS}`, [id]);
  return rows[0] ? toPending(rows[0]) : undefined;
}

export async function deleteExpiredAuthorizationRequests(db: Queryable, graceHours = 0): Promise<number> {
  return sweep(db, 'oauth_authorization_requests', 'expires_at <= now() - make_interval(hours => $1)', [graceHours]);
}
