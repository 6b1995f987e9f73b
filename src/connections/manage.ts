import { recordAudit } from '../audit/record.js';
import type { Cipher } from '../crypto/cipher.js';
import type { Pool } from '../db/pool.js';
import { NotFoundError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { connectionAad } from './connect-flow.js';
import { deleteConnection, findConnection } from './connection-store.js';
import { revokeToken } from './oauth-client.js';

export interface ConnectionStatus {
  provider: string;
  connected: boolean;
  /** True when the upstream refused our refresh token: the user must connect again. */
  needs_reauthorization: boolean;
  account_id: string | null;
  scopes: string[];
  connected_at: string | null;
  expires_at: string | null;
}

export async function connectionStatus(pool: Pool, registry: ProviderRegistry, userId: string, providerId: string): Promise<ConnectionStatus> {
  if (!registry.provider(providerId)) throw new NotFoundError(`Unknown provider "${providerId}".`);
  const row = await findConnection(pool, userId, providerId);
  return {
    provider: providerId,
    connected: Boolean(row && !row.reauthRequiredAt),
    needs_reauthorization: Boolean(row?.reauthRequiredAt),
    account_id: row?.accountId ?? null,
    scopes: row?.scopes ?? [],
    connected_at: row?.connectedAt.toISOString() ?? null,
    expires_at: row?.expiresAt?.toISOString() ?? null,
  };
}

export interface DisconnectResult {
  /** true: the upstream confirmed; false: it could not be confirmed; null: the provider has no revocation endpoint. */
  revokedUpstream: boolean | null;
}

/**
 * Forgets the connection first — the user's intent takes effect even if the upstream is down —
 * then revokes the tokens upstream (RFC 7009 §2.1: revoking the refresh token should also end
 * its access tokens; we revoke both because not every upstream does).
 */
export async function disconnect(
  deps: { pool: Pool; cipher: Cipher; registry: ProviderRegistry; log: Logger },
  userId: string,
  providerId: string,
): Promise<DisconnectResult> {
  const provider = deps.registry.provider(providerId);
  if (!provider) throw new NotFoundError(`Unknown provider "${providerId}".`);
  const row = await deleteConnection(deps.pool, userId, providerId);
  if (!row) throw new NotFoundError(`You have no ${provider.name} connection.`);
  await recordAudit(deps.pool, { userId, type: 'connection.revoked', detail: { provider: providerId } });
  if (provider.auth !== 'oauth2' || !provider.revocation_url) return { revokedUpstream: null };

  const aad = connectionAad(userId, providerId);
  const tokens: Array<[string, 'refresh_token' | 'access_token']> = [];
  if (row.refreshTokenEnc) tokens.push([deps.cipher.decrypt(row.refreshTokenEnc, aad), 'refresh_token']);
  tokens.push([deps.cipher.decrypt(row.accessTokenEnc, aad), 'access_token']);
  try {
    for (const [token, hint] of tokens) await revokeToken(provider, token, hint);
    return { revokedUpstream: true };
  } catch (err) {
    deps.log.warn({ provider: providerId, err: (err as Error).message }, 'upstream revocation failed; local tokens were deleted');
    return { revokedUpstream: false };
  }
}
