import type { Queryable } from '../db/pool.js';
import type { AuthenticatedClient } from './clients.js';
import { deleteAccessToken, deleteGrant, findTokenForRevocation } from './token-store.js';

/**
 * RFC 7009. Revoking a refresh token ends its whole family (§2.1 "SHOULD also invalidate all
 * access tokens based on the same authorization grant"); revoking an access token ends just that
 * token. Unknown tokens and tokens of other clients change nothing and still answer 200 (§2.2),
 * so the endpoint tells a caller nothing about tokens it does not own.
 */
export async function revokeToken(db: Queryable, client: AuthenticatedClient, token: string): Promise<void> {
  const found = await findTokenForRevocation(db, token);
  if (!found || found.clientId !== client.clientId) return;
  if (found.kind === 'refresh_token') await deleteGrant(db, found.grantId);
  else await deleteAccessToken(db, token);
}
