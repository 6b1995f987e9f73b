import { createHash } from 'node:crypto';
import type { Queryable } from '../db/pool.js';
import { sweep } from '../db/sweep.js';

/** How long a user has to finish the upstream login (RFC 6749 §10.12 wants states short-lived). */
export const STATE_TTL_SECONDS = 600;

export interface StateRow {
  /** null when an MCP sign-in started the login: the upstream account decides who it is. */
  userId: string | null;
  providerId: string;
  /** The pending MCP authorization this login belongs to, if any. */
  authorizationRequestId: string | null;
  /** Set when the web page started the login: SHA-256 of the starting browser's binding cookie. */
  webBindingHash: Buffer | null;
  codeVerifierEnc: string | null;
  /** API-started connect flows: 'pending' until the key's owner confirms in a browser, then 'confirmed'. */
  confirmation: Confirmation;
  expired: boolean;
}

export type Confirmation = 'pending' | 'confirmed' | null;

/** Only a hash is stored: the state is a bearer secret that passes through the browser. */
export function hashState(state: string): Buffer {
  return createHash('sha256').update(state).digest();
}

export async function insertState(
  db: Queryable,
  state: {
    state: string;
    userId: string | null;
    providerId: string;
    authorizationRequestId?: string | null;
    webBindingHash?: Buffer | null;
    codeVerifierEnc: string | null;
    confirmation?: Confirmation;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO oauth_states (state_hash, user_id, provider_id, authorization_request_id, web_binding_hash, code_verifier_enc, expires_at, confirmation)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8)`,
    [
      hashState(state.state),
      state.userId,
      state.providerId,
      state.authorizationRequestId ?? null,
      state.webBindingHash ?? null,
      state.codeVerifierEnc,
      STATE_TTL_SECONDS,
      state.confirmation ?? null,
    ],
  );
}

/**
 * Deletes and returns the state in one statement, so two concurrent callbacks with the same
 * state cannot both succeed (single use). An expired row is consumed too, and reported as such.
 */
export async function consumeState(db: Queryable, state: string, providerId: string): Promise<StateRow | undefined> {
  const { rows } = await db.query<{
    user_id: string | null;
    provider_id: string;
    authorization_request_id: string | null;
    web_binding_hash: Buffer | null;
    code_verifier_enc: string | null;
    confirmation: Confirmation;
    expired: boolean;
  }>(
    `DELETE FROM oauth_states WHERE state_hash = $1 AND provider_id = $2
     RETURNING user_id, provider_id, authorization_request_id, web_binding_hash, code_verifier_enc, confirmation, expires_at <= now() AS expired`,
    [hashState(state), providerId],
  );
  const row = rows[0];
  return row
    ? {
        userId: row.user_id,
        providerId: row.provider_id,
        authorizationRequestId: row.authorization_request_id,
        webBindingHash: row.web_binding_hash,
        codeVerifierEnc: row.code_verifier_enc,
        confirmation: row.confirmation,
        expired: row.expired,
      }
    : undefined;
}

/**
 * Removes states nobody came back for (past their expiry plus `graceHours`); returns how many.
 * Safe on several instances at once: see {@link sweep}.
 */
export async function deleteExpiredStates(db: Queryable, graceHours = 0): Promise<number> {
  return sweep(db, 'oauth_states', 'expires_at <= now() - make_interval(hours => $1)', [graceHours]);
}
