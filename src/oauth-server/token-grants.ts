import { withTransaction, type Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { AuthenticatedClient } from './clients.js';
import { consumeCode } from './code-store.js';
import { isOurResource, type OAuthEndpoints } from './endpoints.js';
import { InvalidRequestError } from '../errors.js';
import { InvalidGrantError, InvalidScopeError, InvalidTargetError, UnauthorizedClientError } from './errors.js';
import { normalize, isOAuthScope } from './scopes.js';
import { PKCE_VALUE, pkceMatches, sha256 } from '../crypto/secrets.js';
import {
  deleteGrant,
  findGrantIdByCode,
  insertAccessToken,
  insertGrant,
  insertRefreshToken,
  lockRefreshToken,
  markRefreshTokenUsed,
  type Grant,
} from './token-store.js';

/** Short-lived, so a leaked access token is worth little (MCP "Token Theft"). */
export const ACCESS_TOKEN_TTL_SECONDS = 3600;
/** Sliding: every rotation issues a new refresh token good for this long. */
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;
/**
 * How long a used refresh token keeps working, as long as none of its successors has been used:
 * clients that refresh from two places at once (or lose the response) are not locked out.
 * After that, presenting it again is treated as theft and revokes the family (RFC 9700 §4.14.2).
 */
export const REFRESH_GRACE_SECONDS = 60;

/** The RFC 6749 §5.1 success body. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

export interface TokenGrantDeps {
  pool: Pool;
  endpoints: OAuthEndpoints;
  log: Logger;
}

/** grant_type=authorization_code (OAuth 2.1 §4.1.3), with PKCE (RFC 7636) and the resource (RFC 8707). */
export async function exchangeAuthorizationCode(
  deps: TokenGrantDeps,
  client: AuthenticatedClient,
  params: { code?: string; redirect_uri?: string; code_verifier?: string; resource?: string },
): Promise<TokenResponse> {
  if (!params.code) throw new InvalidRequestError('code is required.');
  if (!params.redirect_uri) throw new InvalidRequestError('redirect_uri is required.');
  if (!params.code_verifier) throw new InvalidRequestError('code_verifier is required (PKCE).');
  if (!PKCE_VALUE.test(params.code_verifier)) throw new InvalidRequestError('code_verifier must be 43-128 characters of [A-Za-z0-9-._~].');
  if (params.resource !== undefined && !isOurResource(deps.endpoints, params.resource)) {
    throw new InvalidTargetError(`Tokens are issued only for ${deps.endpoints.resource}.`);
  }

  // Consumed before it is checked: a code presented with a wrong verifier or redirect URI is spent.
  const code = await consumeCode(deps.pool, params.code);
  if (!code) {
    await revokeFamilyOfReplayedCode(deps, params.code);
    throw new InvalidGrantError('The authorization code is invalid, expired or already used.');
  }
  if (code.expired) throw new InvalidGrantError('The authorization code is invalid, expired or already used.');
  if (code.clientId !== client.clientId) throw new InvalidGrantError('The authorization code was issued to another client.');
  if (code.redirectUri !== params.redirect_uri) throw new InvalidGrantError('redirect_uri does not match the authorization request.');
  if (!pkceMatches(params.code_verifier, code.codeChallenge)) throw new InvalidGrantError('code_verifier does not match the code_challenge.');

  return withTransaction(deps.pool, async (tx) => {
    const grant = await insertGrant(tx, { clientId: code.clientId, userId: code.userId, scopes: code.scopes, resource: code.resource, codeHash: code.codeHash });
    const accessToken = await insertAccessToken(tx, grant, grant.scopes, ACCESS_TOKEN_TTL_SECONDS);
    const refreshToken = client.mayRefresh ? await insertRefreshToken(tx, grant.id, null, REFRESH_TOKEN_TTL_SECONDS) : undefined;
    return tokenResponse(accessToken, refreshToken, grant.scopes);
  });
}

/** RFC 6749 §4.1.2: a code used twice revokes what was issued from it the first time. */
async function revokeFamilyOfReplayedCode(deps: TokenGrantDeps, code: string): Promise<void> {
  const grantId = await findGrantIdByCode(deps.pool, sha256(code));
  if (grantId) {
    await deleteGrant(deps.pool, grantId);
    deps.log.warn({ grant: grantId }, 'authorization code replayed; its token family was revoked');
  }
}

/**
 * grant_type=refresh_token (OAuth 2.1 §4.3) with rotation. The family's grant row is locked, so
 * concurrent refreshes of one family are decided one after the other:
 *
 * - an unused token is spent and replaced;
 * - a spent token still in its grace period, none of whose successors has been used, gets a
 *   new access token and another successor (the race of two parallel refreshes);
 * - any other spent token is a replay: the whole family is revoked.
 */
export async function exchangeRefreshToken(
  deps: TokenGrantDeps,
  client: AuthenticatedClient,
  params: { refresh_token?: string; scope?: string; resource?: string },
): Promise<TokenResponse> {
  if (!params.refresh_token) throw new InvalidRequestError('refresh_token is required.');
  if (!client.mayRefresh) throw new UnauthorizedClientError('This client did not register the refresh_token grant.');

  const outcome = await withTransaction(deps.pool, async (tx) => {
    const presented = await lockRefreshToken(tx, params.refresh_token as string, REFRESH_GRACE_SECONDS);
    if (!presented || presented.expired || presented.grant.clientId !== client.clientId || presented.userDisabled) {
      return { error: 'invalid' as const };
    }
    const grant = presented.grant;
    if (presented.used && (!presented.inGrace || presented.successorUsed)) {
      await deleteGrant(tx, grant.id);
      return { error: 'reused' as const, grantId: grant.id };
    }
    if (params.resource !== undefined && (!isOurResource(deps.endpoints, params.resource) || grant.resource !== deps.endpoints.resource)) {
      throw new InvalidTargetError(`This refresh token is for ${grant.resource}; tokens are issued only for ${deps.endpoints.resource}.`);
    }
    const scopes = narrowedScopes(grant, params.scope);
    if (!presented.used) await markRefreshTokenUsed(tx, presented.tokenHash, presented.parentHash);
    const accessToken = await insertAccessToken(tx, grant, scopes, ACCESS_TOKEN_TTL_SECONDS);
    const refreshToken = await insertRefreshToken(tx, grant.id, presented.tokenHash, REFRESH_TOKEN_TTL_SECONDS);
    return { response: tokenResponse(accessToken, refreshToken, scopes) };
  });
  if (outcome.response) return outcome.response;
  if (outcome.error === 'reused') {
    deps.log.warn({ grant: outcome.grantId }, 'refresh token reused after rotation; its token family was revoked');
  }
  throw new InvalidGrantError('The refresh token is invalid, expired or revoked.');
}

/** RFC 6749 §6: a refresh may ask for fewer scopes than granted, never more. */
function narrowedScopes(grant: Grant, scope: string | undefined): string[] {
  if (scope === undefined || scope.trim() === '') return grant.scopes;
  const asked = scope.split(' ').filter(Boolean);
  const unknown = asked.filter((s) => !isOAuthScope(s) || !grant.scopes.includes(s));
  if (unknown.length > 0) throw new InvalidScopeError(`Not granted to this refresh token: ${unknown.slice(0, 5).join(' ')}.`);
  return normalize(asked);
}

function tokenResponse(accessToken: string, refreshToken: string | undefined, scopes: readonly string[]): TokenResponse {
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_TTL_SECONDS,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    scope: scopes.join(' '),
  };
}
