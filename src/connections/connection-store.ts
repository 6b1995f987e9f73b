import type { Queryable } from '../db/pool.js';

/*
 * The SQL of the connections table. Reads are for anyone; the writes (upsertConnection, updateTokens,
 * markReauthRequired, deleteConnection) and the refresh lock (lockConnection) are called only by
 * connection-repository.ts, which drops the app's cached copy of the row once the write has
 * committed, or once the lock has read a newer row (test/unit/connection-writes.test.ts).
 */

/** A stored connection with its tokens still encrypted. */
export interface ConnectionRow {
  userId: string;
  providerId: string;
  accountId: string | null;
  /** For people (GitHub's `login`), when the provider's account lookup names one. */
  accountName: string | null;
  scopes: string[];
  accessTokenEnc: string;
  refreshTokenEnc: string | null;
  expiresAt: Date | null;
  /** When the access token was requested (application clock): the start of its lifetime. */
  accessTokenIssuedAt: Date;
  reauthRequiredAt: Date | null;
  connectedAt: Date;
  updatedAt: Date;
}

interface Row {
  user_id: string;
  provider_id: string;
  account_id: string | null;
  account_name: string | null;
  scopes: string[];
  access_token_enc: string;
  refresh_token_enc: string | null;
  expires_at: Date | null;
  access_token_issued_at: Date;
  reauth_required_at: Date | null;
  connected_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'user_id, provider_id, account_id, account_name, scopes, access_token_enc, refresh_token_enc, expires_at, access_token_issued_at, reauth_required_at, connected_at, updated_at';

function toConnection(row: Row): ConnectionRow {
  return {
    userId: row.user_id,
    providerId: row.provider_id,
    accountId: row.account_id,
    accountName: row.account_name,
    scopes: row.scopes,
    accessTokenEnc: row.access_token_enc,
    refreshTokenEnc: row.refresh_token_enc,
    expiresAt: row.expires_at,
    accessTokenIssuedAt: row.access_token_issued_at,
    reauthRequiredAt: row.reauth_required_at,
    connectedAt: row.connected_at,
    updatedAt: row.updated_at,
  };
}

export interface NewTokens {
  accessTokenEnc: string;
  /** undefined keeps the stored refresh token (the upstream did not rotate it). */
  refreshTokenEnc: string | null | undefined;
  issuedAt: Date;
  expiresAt: Date | null;
  scopes?: string[];
}

/** Saves a fresh connection, replacing any earlier one of the same user and provider. */
export async function upsertConnection(
  db: Queryable,
  c: { userId: string; providerId: string; accountId: string | null; accountName?: string | null; scopes: string[] } & NewTokens,
): Promise<ConnectionRow> {
  const { rows } = await db.query<Row>(
    `INSERT INTO connections (user_id, provider_id, account_id, scopes, access_token_enc, refresh_token_enc, expires_at, access_token_issued_at, account_name)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (user_id, provider_id) DO UPDATE SET
       account_id = EXCLUDED.account_id, account_name = EXCLUDED.account_name, scopes = EXCLUDED.scopes,
       access_token_enc = EXCLUDED.access_token_enc, refresh_token_enc = EXCLUDED.refresh_token_enc,
       expires_at = EXCLUDED.expires_at, access_token_issued_at = EXCLUDED.access_token_issued_at, reauth_required_at = NULL,
       connected_at = now(), updated_at = now()
     RETURNING ${COLUMNS}`,
    [c.userId, c.providerId, c.accountId, c.scopes, c.accessTokenEnc, c.refreshTokenEnc ?? null, c.expiresAt, c.issuedAt, c.accountName ?? null],
  );
  return toConnection(rows[0] as Row);
}

export async function findConnection(db: Queryable, userId: string, providerId: string): Promise<ConnectionRow | undefined> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM connections WHERE user_id = $1 AND provider_id = $2`,
    [userId, providerId],
  );
  return rows[0] ? toConnection(rows[0]) : undefined;
}

/**
 * Reads the connection and locks its row until the transaction ends: the refresh lock, which
 * serialises refreshes across every instance on the database. `waitMs` bounds the wait for
 * another holder (0: do not wait at all). When the lock is not free in time PostgreSQL raises
 * lock_not_available; see {@link isLockNotAvailable}.
 */
export async function lockConnection(tx: Queryable, userId: string, providerId: string, waitMs: number): Promise<ConnectionRow | undefined> {
  // SET LOCAL cannot take a bind parameter; set_config(…, true) is the same, transaction-scoped.
  if (waitMs > 0) await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [`${Math.ceil(waitMs)}ms`]);
  const { rows } = await tx.query<Row>(
    `SELECT ${COLUMNS} FROM connections WHERE user_id = $1 AND provider_id = $2 FOR UPDATE${waitMs > 0 ? '' : ' NOWAIT'}`,
    [userId, providerId],
  );
  return rows[0] ? toConnection(rows[0]) : undefined;
}

/** True for PostgreSQL's lock_not_available (55P03): lock_timeout passed, or NOWAIT found the row locked. */
export function isLockNotAvailable(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '55P03';
}

/** Stores refreshed tokens; the access token and a rotated refresh token are written together. */
export async function updateTokens(db: Queryable, userId: string, providerId: string, t: NewTokens): Promise<ConnectionRow | undefined> {
  const { rows } = await db.query<Row>(
    `UPDATE connections SET access_token_enc = $3, refresh_token_enc = COALESCE($4, refresh_token_enc),
            expires_at = $5, access_token_issued_at = $6, scopes = COALESCE($7, scopes), reauth_required_at = NULL, updated_at = now()
      WHERE user_id = $1 AND provider_id = $2 RETURNING ${COLUMNS}`,
    [userId, providerId, t.accessTokenEnc, t.refreshTokenEnc ?? null, t.expiresAt, t.issuedAt, t.scopes ?? null],
  );
  return rows[0] ? toConnection(rows[0]) : undefined;
}

/** The upstream refused the refresh token: keep the row (status shows it) but stop using it. */
export async function markReauthRequired(db: Queryable, userId: string, providerId: string): Promise<void> {
  await db.query(
    'UPDATE connections SET reauth_required_at = now(), updated_at = now() WHERE user_id = $1 AND provider_id = $2 AND reauth_required_at IS NULL',
    [userId, providerId],
  );
}

/** Deletes and returns the connection, so its tokens can still be revoked upstream. */
export async function deleteConnection(db: Queryable, userId: string, providerId: string): Promise<ConnectionRow | undefined> {
  const { rows } = await db.query<Row>(`DELETE FROM connections WHERE user_id = $1 AND provider_id = $2 RETURNING ${COLUMNS}`, [
    userId,
    providerId,
  ]);
  return rows[0] ? toConnection(rows[0]) : undefined;
}

/**
 * The user an upstream account signs in as: the owner of a connection to that account. If
 * several users connected the same account, the oldest user wins, so the answer never changes
 * as connections come and go. `disabled` lets the caller refuse rather than create a new user.
 */
export async function findUserByUpstreamAccount(db: Queryable, providerId: string, accountId: string): Promise<{ userId: string; disabled: boolean } | undefined> {
  const { rows } = await db.query<{ user_id: string; disabled: boolean }>(
    `SELECT c.user_id, u.disabled_at IS NOT NULL AS disabled
       FROM connections c JOIN users u ON u.id = c.user_id
      WHERE c.provider_id = $1 AND c.account_id = $2
      ORDER BY u.created_at, u.id LIMIT 1`,
    [providerId, accountId],
  );
  const row = rows[0];
  return row ? { userId: row.user_id, disabled: row.disabled } : undefined;
}

/** Whether the user has a connection to one of these providers that does not need re-authorizing. */
export async function hasWorkingConnection(db: Queryable, userId: string, providerIds: readonly string[]): Promise<boolean> {
  const { rowCount } = await db.query(
    'SELECT 1 FROM connections WHERE user_id = $1 AND provider_id = ANY($2) AND reauth_required_at IS NULL LIMIT 1',
    [userId, [...providerIds]],
  );
  return (rowCount ?? 0) > 0;
}
