import type { Actor } from '../auth/actor.js';
import { recordAudit } from '../audit/record.js';
import type { Cipher } from '../crypto/cipher.js';
import type { Pool } from '../db/pool.js';
import { NotFoundError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { keyInUse, last4, type KeySource } from './api-keys.js';
import { connectionAad } from './connect-flow.js';
import type { ConnectionRepository } from './connection-repository.js';
import { findConnection } from './connection-store.js';
import { revokeToken } from './oauth-client.js';

export interface ConnectionStatus {
  provider: string;
  connected: boolean;
  /** True when the upstream refused our refresh token: the user must connect again. */
  needs_reauthorization: boolean;
  account_id: string | null;
  /** `oauth2` providers only: the account's name for people (GitHub's `login`) when the provider's account lookup gives one. */
  account_name?: string | null;
  scopes: string[];
  connected_at: string | null;
  expires_at: string | null;
  /** `api_key` providers only: whose key calls use (the user's own or the operator's fallback), or null for none. */
  key_source?: KeySource | null;
  /** `api_key` providers only: the last four characters of the user's own key; null for the fallback. */
  key_last4?: string | null;
}

export async function connectionStatus(
  deps: { pool: Pool; cipher: Cipher; registry: ProviderRegistry },
  userId: string,
  providerId: string,
): Promise<ConnectionStatus> {
  const provider = deps.registry.provider(providerId);
  if (!provider) throw new NotFoundError(`Unknown provider "${providerId}".`);
  if (provider.auth === 'api_key') {
    const used = await keyInUse((u, p) => findConnection(deps.pool, u, p), deps.cipher, userId, provider);
    return {
      provider: providerId,
      connected: used !== undefined,
      needs_reauthorization: false,
      account_id: null,
      scopes: [],
      connected_at: used?.connectedAt?.toISOString() ?? null,
      expires_at: null,
      key_source: used?.source ?? null,
      key_last4: used ? last4(used) : null,
    };
  }
  const row = await findConnection(deps.pool, userId, providerId);
  return {
    provider: providerId,
    connected: Boolean(row && !row.reauthRequiredAt),
    needs_reauthorization: Boolean(row?.reauthRequiredAt),
    account_id: row?.accountId ?? null,
    account_name: row?.accountName ?? null,
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
 * its access tokens; we revoke both because not every upstream does, and try each even when the
 * other fails). A refresh running at that moment holds the row lock, so the DELETE waits for it
 * and revokes the tokens it just stored.
 */
export async function disconnect(
  deps: { pool: Pool; connections: ConnectionRepository; cipher: Cipher; registry: ProviderRegistry; log: Logger; tokenTimeoutMs?: number },
  userId: string,
  providerId: string,
  actor: Actor,
): Promise<DisconnectResult> {
  // Revocation needs a remote MCP server's discovered endpoints; without them the local tokens still go.
  const provider = (await deps.registry.ready(providerId).catch(() => undefined)) ?? deps.registry.provider(providerId);
  if (!provider) throw new NotFoundError(`Unknown provider "${providerId}".`);
  const row = await deps.connections.delete(deps.pool, userId, providerId);
  if (!row) {
    throw new NotFoundError(provider.auth === 'api_key' ? `You have not set your own ${provider.name} API key.` : `You have no ${provider.name} connection.`);
  }
  await recordAudit(deps.pool, { userId, type: 'connection.revoked', detail: { provider: providerId }, actor }, deps.log);
  if (provider.auth !== 'oauth2' || !provider.revocation_url) return { revokedUpstream: null };

  const aad = connectionAad(userId, providerId);
  const tokens: Array<[string, 'refresh_token' | 'access_token']> = [];
  if (row.refreshTokenEnc) tokens.push([deps.cipher.decrypt(row.refreshTokenEnc, aad), 'refresh_token']);
  tokens.push([deps.cipher.decrypt(row.accessTokenEnc, aad), 'access_token']);
  const outcomes = await Promise.allSettled(tokens.map(([token, hint]) => revokeToken(provider, token, hint, deps.tokenTimeoutMs)));
  const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
  if (failures.length === 0) return { revokedUpstream: true };
  deps.log.warn({ provider: providerId, err: failures.join('; ') }, 'upstream revocation failed; local tokens were deleted');
  return { revokedUpstream: false };
}
