import { createHash, randomBytes } from 'node:crypto';
import type { Actor } from '../auth/actor.js';
import { recordAudit } from '../audit/record.js';
import type { Logger } from '../log.js';
import type { Cipher } from '../crypto/cipher.js';
import type { Pool, Queryable } from '../db/pool.js';
import { AppError, InvalidRequestError, NotFoundError, UpstreamUnavailableError } from '../errors.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { OAuth2ProviderDefinition } from '../providers/schema.js';
import { DEFAULT_UPSTREAM_LIMITS } from '../outbound/limits.js';
import { AccountLookupError, lookUpAccount } from './account-lookup.js';
import type { ConnectionRepository, ConnectionWriter } from './connection-repository.js';
import { buildAuthorizationUrl, exchangeCode, TokenRequestError, type TokenSet } from './oauth-client.js';
import { confirmPendingConnect } from './connect-confirmation.js';
import { consumeState, insertState, type Confirmation } from './state-store.js';
import { forgetRejectedClient } from '../upstreams/mcp/oauth-provider.js';

/** A callback that cannot complete; rendered as an HTML error page (always 4xx: 404 unknown provider, 403 unconfirmed, else 400). */
export class CallbackError extends AppError {
  constructor(description: string, code = 'invalid_request') {
    super(code === 'not_found' ? 404 : code === 'unconfirmed' ? 403 : 400, code, description);
  }
}

export interface ConnectFlowDeps {
  pool: Pool;
  /** The one writer of connection rows (it keeps the tool calls' cache in step). */
  connections: ConnectionRepository;
  cipher: Cipher;
  registry: ProviderRegistry;
  publicUrl: string;
  /** Bound on each token and revocation request (default: DEFAULT_UPSTREAM_LIMITS). */
  tokenTimeoutMs?: number;
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

/**
 * Completes a provider whose definition is learned at run time (a remote MCP server's OAuth
 * discovery and client registration) before the flow reads it; a no-op for every other one.
 */
export async function readyProvider(registry: ProviderRegistry, providerId: string): Promise<void> {
  try {
    await registry.ready(providerId);
  } catch (err) {
    const name = registry.provider(providerId)?.name ?? providerId;
    throw new UpstreamUnavailableError(`${name}'s authorization server could not be discovered or registered with: ${(err as Error).message}. Try again later.`);
  }
}

/**
 * Step 1 through the API: remember who is connecting (and the PKCE verifier) and hand back the
 * link to our confirmation page, not the upstream's login: the key's owner confirms there, in
 * the browser that then logs in upstream (see connect-confirmation.ts for why).
 */
export async function startConnect(deps: ConnectFlowDeps, userId: string, providerId: string): Promise<{ authorizationUrl: string; state: string }> {
  const { state } = await beginUpstreamLogin(deps, { userId, providerId, authorizationRequestId: null, confirmation: 'pending' });
  return { authorizationUrl: confirmationUrl(deps.publicUrl, state), state };
}

export function confirmationUrl(publicUrl: string, state: string): string {
  return `${publicUrl}/connect/confirm?state=${encodeURIComponent(state)}`;
}

/**
 * The key's owner confirmed a flow started through the API, in this browser: bind it here and
 * return the upstream login to send the browser to (undefined when the link is unknown, expired,
 * already confirmed or belongs to another user).
 */
export async function confirmConnect(deps: ConnectFlowDeps, state: string, userId: string, browserBindingHash: Buffer): Promise<string | undefined> {
  const confirmed = await confirmPendingConnect(deps.pool, state, userId, browserBindingHash);
  if (!confirmed) return undefined;
  const provider = oauthProvider(deps.registry, confirmed.providerId);
  const verifier = confirmed.codeVerifierEnc ? deps.cipher.decrypt(confirmed.codeVerifierEnc, verifierAad(userId, null, null)) : undefined;
  return upstreamAuthorizationUrl(deps.publicUrl, provider, state, verifier);
}

/** Who an upstream login is for, and which flow comes back to the callback. */
export interface UpstreamLogin {
  /** null when a sign-in started it: the upstream account then decides who the user is. */
  userId: string | null;
  providerId: string;
  /** The MCP client's pending authorization (oauth-server/sign-in.ts), or null. */
  authorizationRequestId: string | null;
  /** The web page started it (web/): SHA-256 of the browser's binding cookie, checked at the callback. */
  webBindingHash?: Buffer | null;
  /** 'pending' for a flow started through the API: it waits for the owner's confirmation in a browser. */
  confirmation?: Confirmation;
}

/**
 * Starts an upstream login: for a user connecting an account (API or web page), for an MCP
 * client's sign-in (oauth-server) or for a sign-in on the web page (web/).
 */
export async function beginUpstreamLogin(deps: ConnectFlowDeps, login: UpstreamLogin): Promise<{ authorizationUrl: string; state: string }> {
  await readyProvider(deps.registry, login.providerId);
  const provider = oauthProvider(deps.registry, login.providerId);
  const state = randomBytes(32).toString('base64url');
  const verifier = provider.pkce ? randomBytes(32).toString('base64url') : undefined;
  await insertState(deps.pool, {
    state,
    userId: login.userId,
    providerId: provider.id,
    authorizationRequestId: login.authorizationRequestId,
    webBindingHash: login.webBindingHash ?? null,
    codeVerifierEnc: verifier ? deps.cipher.encrypt(verifier, verifierAad(login.userId, login.authorizationRequestId, login.webBindingHash ?? null)) : null,
    confirmation: login.confirmation ?? null,
  });
  return { authorizationUrl: upstreamAuthorizationUrl(deps.publicUrl, provider, state, verifier), state };
}

function upstreamAuthorizationUrl(publicUrl: string, provider: OAuth2ProviderDefinition, state: string, verifier: string | undefined): string {
  return buildAuthorizationUrl(provider, {
    redirectUri: redirectUriFor(publicUrl, provider.id),
    state,
    codeChallenge: verifier ? createHash('sha256').update(verifier).digest('base64url') : undefined,
  });
}

export interface CallbackQuery {
  code?: string | undefined;
  state?: string | undefined;
  error?: string | undefined;
  error_description?: string | undefined;
}

/** A callback whose state was valid and has now been used up. */
export interface ConsumedCallback {
  provider: OAuth2ProviderDefinition;
  userId: string | null;
  authorizationRequestId: string | null;
  /** Set when the web page started the login, or the owner confirmed an API-started one (see {@link UpstreamLogin}). */
  webBindingHash: Buffer | null;
  codeVerifierEnc: string | null;
  confirmation: Confirmation;
}

/**
 * Step 2a: the upstream sent the browser back. The state is consumed first and atomically,
 * so it is single-use whatever happens next.
 */
export async function consumeCallbackState(deps: ConnectFlowDeps, providerId: string, query: CallbackQuery): Promise<ConsumedCallback> {
  try {
    await readyProvider(deps.registry, providerId);
  } catch (err) {
    throw new CallbackError((err as Error).message, 'temporarily_unavailable');
  }
  const provider = deps.registry.provider(providerId);
  if (!provider || provider.auth !== 'oauth2') throw new CallbackError(`Unknown provider "${providerId}".`, 'not_found');
  if (!query.state) throw new CallbackError('The link is missing its state parameter. Start connecting again.');
  const saved = await consumeState(deps.pool, query.state, providerId);
  if (!saved) throw new CallbackError('This link is unknown or has already been used. Start connecting again.', 'invalid_state');
  if (saved.expired) throw new CallbackError('This link has expired. Start connecting again.', 'expired_state');
  if (saved.confirmation === 'pending') {
    // Nobody confirmed this flow in a browser: whoever logged in upstream is not known to be the
    // key's owner, so their account must not be attached to that user. The state is spent.
    throw new CallbackError(
      'This connection was never confirmed on this server, so nothing was connected. Whoever started it must open the link they got from this server and confirm it first.',
      'unconfirmed',
    );
  }
  return {
    provider,
    userId: saved.userId,
    authorizationRequestId: saved.authorizationRequestId,
    webBindingHash: saved.webBindingHash,
    codeVerifierEnc: saved.codeVerifierEnc,
    confirmation: saved.confirmation,
  };
}

/** Step 2b: turn the upstream's answer into tokens (or a CallbackError saying why not). */
export async function exchangeCallbackCode(deps: ConnectFlowDeps, consumed: ConsumedCallback, query: CallbackQuery): Promise<TokenSet> {
  const { provider } = consumed;
  if (query.error) {
    const detail = query.error_description ? `: ${query.error_description.slice(0, 300)}` : '';
    throw new CallbackError(`${provider.name} did not grant access (${query.error.slice(0, 100)}${detail}).`, 'access_denied');
  }
  if (!query.code) throw new CallbackError(`${provider.name} sent no authorization code. Start connecting again.`);
  let tokens: TokenSet;
  try {
    tokens = await exchangeCode(provider, {
      code: query.code,
      redirectUri: redirectUriFor(deps.publicUrl, provider.id),
      codeVerifier: consumed.codeVerifierEnc
        ? deps.cipher.decrypt(consumed.codeVerifierEnc, verifierAad(consumed.userId, consumed.authorizationRequestId, consumed.webBindingHash))
        : undefined,
    }, deps.tokenTimeoutMs);
  } catch (err) {
    if (err instanceof TokenRequestError) {
      // A remote MCP server that forgot our registered client: the next start registers anew.
      const again = (await forgetRejectedClient(deps.pool, deps.registry, provider.id, err)) ? ' Start connecting again.' : '';
      throw new CallbackError(`Could not finish connecting ${provider.name}: ${err.message}.${again}`, 'exchange_failed');
    }
    throw err;
  }
  if (!provider.account) return tokens;
  // The upstream's own answer about the token wins over anything the token response said.
  try {
    const account = await lookUpAccount(provider, tokens.accessToken, deps.tokenTimeoutMs ?? DEFAULT_UPSTREAM_LIMITS.tokenTimeoutMs);
    return { ...tokens, accountId: account.id, accountName: account.name };
  } catch (err) {
    if (err instanceof AccountLookupError) {
      throw new CallbackError(`Could not finish connecting ${provider.name}: asking it which account logged in failed (${err.message}). Try again.`, 'account_lookup_failed');
    }
    throw err;
  }
}

/**
 * Step 3: store the upstream tokens (encrypted, bound to their owner) as the user's connection,
 * on the pool or inside the caller's transaction (`db`).
 */
export async function saveConnection(
  deps: Pick<ConnectFlowDeps, 'connections' | 'cipher'>,
  db: ConnectionWriter,
  userId: string,
  provider: OAuth2ProviderDefinition,
  tokens: TokenSet,
): Promise<void> {
  const { cipher } = deps;
  const aad = connectionAad(userId, provider.id);
  await deps.connections.upsert(db, {
    userId,
    providerId: provider.id,
    accountId: tokens.accountId,
    accountName: tokens.accountName ?? null,
    scopes: tokens.scopes ?? provider.scopes,
    accessTokenEnc: cipher.encrypt(tokens.accessToken, aad),
    refreshTokenEnc: tokens.refreshToken ? cipher.encrypt(tokens.refreshToken, aad) : null,
    issuedAt: tokens.issuedAt,
    expiresAt: tokens.expiresAt,
  });
}

/**
 * The plain connect flow's callback (a user connecting with their key): consume the state,
 * exchange the code, store the tokens. Sign-in states (no user yet) are not for this function.
 */
export async function completeConnect(
  deps: ConnectFlowDeps & { log: Logger },
  providerId: string,
  query: CallbackQuery,
  actor: Actor,
): Promise<{ providerName: string; accountId: string | null }> {
  return finishConnect(deps, await consumeCallbackState(deps, providerId, query), query, actor);
}

/** completeConnect after the state was consumed. */
export async function finishConnect(
  deps: ConnectFlowDeps & { log: Logger },
  consumed: ConsumedCallback,
  query: CallbackQuery,
  actor: Actor,
): Promise<{ providerName: string; accountId: string | null }> {
  if (consumed.userId === null || consumed.authorizationRequestId !== null) {
    throw new CallbackError('This link belongs to a sign-in from an AI client. Start again from the client.', 'invalid_state');
  }
  const userId = consumed.userId;
  const tokens = await exchangeCallbackCode(deps, consumed, query);
  await saveConnection(deps, deps.pool, userId, consumed.provider, tokens);
  await recordConnected(deps.pool, { userId, providerId: consumed.provider.id, accountId: tokens.accountId, actor }, deps.log);
  return { providerName: consumed.provider.name, accountId: tokens.accountId };
}

/** Audit line for a connection made (after its transaction committed: the audit write is best-effort). */
export function recordConnected(db: Queryable, c: { userId: string; providerId: string; accountId: string | null; actor: Actor }, log: Logger): Promise<void> {
  return recordAudit(db, { userId: c.userId, type: 'connection.created', detail: { provider: c.providerId, account_id: c.accountId }, actor: c.actor }, log);
}

/** The PKCE verifier is bound to who started the login, so a state row cannot be re-pointed. */
export function verifierAad(userId: string | null, authorizationRequestId: string | null, webBindingHash: Buffer | null): string {
  if (userId !== null) return `state:${userId}`;
  if (authorizationRequestId !== null) return `state:authorization:${authorizationRequestId}`;
  return `state:web:${webBindingHash?.toString('hex') ?? ''}`;
}

/** Binds stored tokens to their owner: a ciphertext moved to another user's row will not decrypt. */
export function connectionAad(userId: string, providerId: string): string {
  return `connection:${userId}:${providerId}`;
}
