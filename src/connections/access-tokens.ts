import { recordAudit } from '../audit/record.js';
import type { Cipher } from '../crypto/cipher.js';
import { withTransaction, type Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { OAuth2ProviderDefinition } from '../providers/schema.js';
import { connectionAad } from './connect-flow.js';
import { findConnection, markReauthRequired, updateTokens, type ConnectionRow } from './connection-store.js';
import { refreshTokens, TokenRequestError } from './oauth-client.js';

/** Refresh this long before expiry, or at half the token's lifetime when that is shorter. */
const REFRESH_MARGIN_MS = 5 * 60_000;
/** Backoff for transient token-endpoint failures (network, 5xx, 429). */
const RETRY_DELAYS_MS = [250, 1_000];

/** Why a user's call cannot get an upstream token; the message says what to do. */
export class NotConnectedError extends Error {
  constructor(
    readonly reason: 'not_connected' | 'reauth_required',
    message: string,
  ) {
    super(message);
    this.name = 'NotConnectedError';
  }
}

export interface AccessTokenSource {
  /** A usable access token for the user's connection, refreshed first when it is about to expire. */
  get(userId: string, provider: OAuth2ProviderDefinition): Promise<string>;
  /** After the upstream answered 401 to `rejected`: refresh (once, shared) and return the new token. */
  refreshAfterRejection(userId: string, provider: OAuth2ProviderDefinition, rejected: string): Promise<string>;
}

/**
 * Exactly one refresh per connection at a time: in-process callers share one promise, and
 * across instances a `SELECT … FOR UPDATE` row lock serialises refreshes, with the row re-read
 * after the lock so a refresh another instance just finished is reused, not repeated (repeating
 * it would spend a rotated refresh token twice and lock the user out).
 */
export function createAccessTokenSource(deps: { pool: Pool; cipher: Cipher; log: Logger; connectUrl: (providerId: string) => string }): AccessTokenSource {
  const inFlight = new Map<string, Promise<string>>();

  function decryptAccess(row: ConnectionRow): string {
    return deps.cipher.decrypt(row.accessTokenEnc, connectionAad(row.userId, row.providerId));
  }

  function notConnected(provider: OAuth2ProviderDefinition, reason: NotConnectedError['reason']): NotConnectedError {
    const what = reason === 'reauth_required' ? `Your ${provider.name} connection needs to be re-authorized` : `You have not connected ${provider.name} yet`;
    return new NotConnectedError(reason, `${what}. Connect it: GET ${deps.connectUrl(provider.id)} with your API key, then open the authorization_url it returns.`);
  }

  function usable(row: ConnectionRow, provider: OAuth2ProviderDefinition): ConnectionRow {
    if (row.reauthRequiredAt) throw notConnected(provider, 'reauth_required');
    return row;
  }

  function expiresSoon(row: ConnectionRow): boolean {
    if (!row.expiresAt) return false;
    const lifetime = row.expiresAt.getTime() - row.updatedAt.getTime();
    const margin = Math.min(REFRESH_MARGIN_MS, Math.max(0, lifetime / 2));
    return row.expiresAt.getTime() - margin <= Date.now();
  }

  /** `stale`: the access token known to be bad, or undefined to refresh only if expiring. */
  function refresh(userId: string, provider: OAuth2ProviderDefinition, stale: string | undefined): Promise<string> {
    const key = `${userId}\u0000${provider.id}`;
    const running = inFlight.get(key);
    if (running) return running;
    const work = refreshLocked(userId, provider, stale).finally(() => inFlight.delete(key));
    inFlight.set(key, work);
    return work;
  }

  async function refreshLocked(userId: string, provider: OAuth2ProviderDefinition, stale: string | undefined): Promise<string> {
    const aad = connectionAad(userId, provider.id);
    const outcome = await withTransaction(deps.pool, async (tx) => {
      const row = await findConnection(tx, userId, provider.id, true);
      if (!row) throw notConnected(provider, 'not_connected');
      usable(row, provider);
      const current = decryptAccess(row);
      // Another request or instance refreshed while we waited for the lock: use its result.
      if (stale ? current !== stale : !expiresSoon(row)) return { token: current };
      if (!row.refreshTokenEnc) {
        // Nothing to refresh with: the token serves until it has actually expired or been refused.
        const dead = stale !== undefined || (row.expiresAt !== null && row.expiresAt.getTime() <= Date.now());
        return dead ? { reauth: true as const } : { token: current };
      }
      const refreshToken = deps.cipher.decrypt(row.refreshTokenEnc, aad);
      try {
        const tokens = await withRetries(() => refreshTokens(provider, refreshToken));
        await updateTokens(tx, userId, provider.id, {
          accessTokenEnc: deps.cipher.encrypt(tokens.accessToken, aad),
          // A rotated refresh token is written in the same statement as its access token.
          refreshTokenEnc: tokens.refreshToken ? deps.cipher.encrypt(tokens.refreshToken, aad) : undefined,
          expiresAt: tokens.expiresAt,
          ...(tokens.scopes ? { scopes: tokens.scopes } : {}),
        });
        return { token: tokens.accessToken };
      } catch (err) {
        if (err instanceof TokenRequestError && err.kind === 'invalid_grant') return { reauth: true as const };
        throw err;
      }
    });
    if (outcome.token !== undefined) return outcome.token;
    await markReauthRequired(deps.pool, userId, provider.id);
    await recordAudit(deps.pool, { userId, type: 'connection.reauth_required', detail: { provider: provider.id } });
    deps.log.info({ provider: provider.id }, 'upstream refused the refresh token; connection needs re-authorization');
    throw notConnected(provider, 'reauth_required');
  }

  return {
    async get(userId, provider) {
      const row = await findConnection(deps.pool, userId, provider.id);
      if (!row) throw notConnected(provider, 'not_connected');
      usable(row, provider);
      return expiresSoon(row) ? refresh(userId, provider, undefined) : decryptAccess(row);
    },
    refreshAfterRejection(userId, provider, rejected) {
      return refresh(userId, provider, rejected);
    },
  };
}

async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      const delay = RETRY_DELAYS_MS[i];
      if (!(err instanceof TokenRequestError) || err.kind !== 'transient' || delay === undefined) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
