import { createHash, randomBytes } from 'node:crypto';
import { recordAudit } from '../audit/record.js';
import type { Cipher } from '../crypto/cipher.js';
import { withTransaction, type Pool } from '../db/pool.js';
import { AppError, InvalidRequestError, NotFoundError } from '../errors.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { OAuth2ProviderDefinition } from '../providers/schema.js';
import { upsertConnection } from './connection-store.js';
import { buildAuthorizationUrl, exchangeCode, TokenRequestError } from './oauth-client.js';
import { consumeState, insertState } from './state-store.js';

/** A callback that cannot complete; rendered as an HTML error page (always 4xx). */
export class CallbackError extends AppError {
  constructor(description: string, code = 'invalid_request') {
    super(400, code, description);
  }
}

export interface ConnectFlowDeps {
  pool: Pool;
  cipher: Cipher;
  registry: ProviderRegistry;
  publicUrl: string;
}

export function redirectUriFor(publicUrl: string, providerId: string): string {
  return `${publicUrl}/api/connect/${providerId}/callback`;
}

export function oauthProvider(registry: ProviderRegistry, providerId: string): OAuth2ProviderDefinition {
  const provider = registry.provider(providerId);
  if (!provider) throw new NotFoundError(`Unknown provider "${providerId}".`);
  if (provider.auth !== 'oauth2') {
    throw new InvalidRequestError(`${provider.name} uses API keys, not OAuth: set your key with PUT /api/connect/${provider.id}/key.`);
  }
  return provider;
}

/** Step 1: remember who is connecting (and the PKCE verifier), hand back the upstream URL. */
export async function startConnect(deps: ConnectFlowDeps, userId: string, providerId: string): Promise<{ authorizationUrl: string; state: string }> {
  const provider = oauthProvider(deps.registry, providerId);
  const state = randomBytes(32).toString('base64url');
  const verifier = provider.pkce ? randomBytes(32).toString('base64url') : undefined;
  await insertState(deps.pool, {
    state,
    userId,
    providerId,
    codeVerifierEnc: verifier ? deps.cipher.encrypt(verifier, `state:${userId}`) : null,
  });
  const authorizationUrl = buildAuthorizationUrl(provider, {
    redirectUri: redirectUriFor(deps.publicUrl, providerId),
    state,
    codeChallenge: verifier ? createHash('sha256').update(verifier).digest('base64url') : undefined,
  });
  return { authorizationUrl, state };
}

export interface CallbackQuery {
  code?: string | undefined;
  state?: string | undefined;
  error?: string | undefined;
  error_description?: string | undefined;
}

/**
 * Step 2: the upstream sent the browser back. The state is consumed first and atomically,
 * so it is single-use whatever happens next; tokens are stored only after a good exchange.
 */
export async function completeConnect(deps: ConnectFlowDeps, providerId: string, query: CallbackQuery): Promise<{ providerName: string; accountId: string | null }> {
  const provider = deps.registry.provider(providerId);
  if (!provider || provider.auth !== 'oauth2') throw new CallbackError(`Unknown provider "${providerId}".`, 'not_found');
  if (!query.state) throw new CallbackError('The link is missing its state parameter. Start connecting again.');

  const saved = await consumeState(deps.pool, query.state, providerId);
  if (!saved) throw new CallbackError('This link is unknown or has already been used. Start connecting again.', 'invalid_state');
  if (saved.expired) throw new CallbackError('This link has expired. Start connecting again.', 'expired_state');
  if (query.error) {
    const detail = query.error_description ? `: ${query.error_description.slice(0, 300)}` : '';
    throw new CallbackError(`${provider.name} did not grant access (${query.error.slice(0, 100)}${detail}).`, 'access_denied');
  }
  if (!query.code) throw new CallbackError(`${provider.name} sent no authorization code. Start connecting again.`);

  let tokens;
  try {
    tokens = await exchangeCode(provider, {
      code: query.code,
      redirectUri: redirectUriFor(deps.publicUrl, providerId),
      codeVerifier: saved.codeVerifierEnc ? deps.cipher.decrypt(saved.codeVerifierEnc, `state:${saved.userId}`) : undefined,
    });
  } catch (err) {
    if (err instanceof TokenRequestError) throw new CallbackError(`Could not finish connecting ${provider.name}: ${err.message}.`, 'exchange_failed');
    throw err;
  }

  const aad = connectionAad(saved.userId, providerId);
  await withTransaction(deps.pool, (tx) =>
    upsertConnection(tx, {
      userId: saved.userId,
      providerId,
      accountId: tokens.accountId,
      scopes: tokens.scopes ?? provider.scopes,
      accessTokenEnc: deps.cipher.encrypt(tokens.accessToken, aad),
      refreshTokenEnc: tokens.refreshToken ? deps.cipher.encrypt(tokens.refreshToken, aad) : null,
      expiresAt: tokens.expiresAt,
    }),
  );
  await recordAudit(deps.pool, { userId: saved.userId, type: 'connection.created', detail: { provider: providerId, account_id: tokens.accountId } });
  return { providerName: provider.name, accountId: tokens.accountId };
}

/** Binds stored tokens to their owner: a ciphertext moved to another user's row will not decrypt. */
export function connectionAad(userId: string, providerId: string): string {
  return `connection:${userId}:${providerId}`;
}
