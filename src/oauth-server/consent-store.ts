import type { Queryable } from '../db/pool.js';

/** The scopes a user has allowed a client, or undefined when they never did. */
export async function findConsent(db: Queryable, userId: string, clientId: string): Promise<string[] | undefined> {
  const { rows } = await db.query<{ scopes: string[] }>('SELECT scopes FROM oauth_consents WHERE user_id = $1 AND client_id = $2', [userId, clientId]);
  return rows[0]?.scopes;
}

/** Remembers an approval, widening an earlier one (scopes are only ever added here). */
export async function recordConsent(db: Queryable, userId: string, clientId: string, scopes: readonly string[]): Promise<void> {
  await db.query(
    `INSERT INTO oauth_consents (user_id, client_id, scopes) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, client_id) DO UPDATE SET
       scopes = ARRAY(SELECT DISTINCT unnest(oauth_consents.scopes || EXCLUDED.scopes) ORDER BY 1), granted_at = now()`,
    [userId, clientId, [...scopes]],
  );
}
