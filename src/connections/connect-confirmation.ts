import type { Queryable } from '../db/pool.js';
import { hashState } from './state-store.js';

/**
 * The browser step of a connect flow started through the API (issue 18, item 1).
 *
 * `GET /api/connect/:provider/start` knows the key's user, but the link it hands out is opened
 * by whoever receives it: if Mallory sends her link to a victim and the victim logs in at the
 * upstream, the victim's upstream account would become Mallory's connection. So such a state is
 * 'pending' until the key's owner confirms it on our page, in the browser that then goes to the
 * upstream; confirming binds the state to that browser (web_binding_hash), exactly like a flow
 * the web page starts, and the callback refuses to finish anywhere else.
 */

/** A pending connect flow, as the confirmation page shows it. */
export interface PendingConnect {
  userId: string;
  userName: string | null;
  providerId: string;
}

/** The pending (unexpired, unconfirmed) flow behind a start link, if any. */
export async function findPendingConnect(db: Queryable, state: string): Promise<PendingConnect | undefined> {
  const { rows } = await db.query<{ user_id: string; name: string | null; provider_id: string }>(
    `SELECT s.user_id, u.name, s.provider_id FROM oauth_states s JOIN users u ON u.id = s.user_id
     WHERE s.state_hash = $1 AND s.confirmation = 'pending' AND s.expires_at > now()`,
    [hashState(state)],
  );
  const row = rows[0];
  return row ? { userId: row.user_id, userName: row.name, providerId: row.provider_id } : undefined;
}

/**
 * Marks the flow confirmed by `userId` and binds it to the confirming browser, once: a second
 * confirmation, another user's, or one after expiry changes nothing (undefined).
 */
export async function confirmPendingConnect(
  db: Queryable,
  state: string,
  userId: string,
  browserBindingHash: Buffer,
): Promise<{ providerId: string; codeVerifierEnc: string | null } | undefined> {
  const { rows } = await db.query<{ provider_id: string; code_verifier_enc: string | null }>(
    `UPDATE oauth_states SET confirmation = 'confirmed', web_binding_hash = $3
     WHERE state_hash = $1 AND user_id = $2 AND confirmation = 'pending' AND expires_at > now()
     RETURNING provider_id, code_verifier_enc`,
    [hashState(state), userId, browserBindingHash],
  );
  const row = rows[0];
  return row ? { providerId: row.provider_id, codeVerifierEnc: row.code_verifier_enc } : undefined;
}
