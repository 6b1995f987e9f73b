import type { Actor } from '../auth/actor.js';
import type { CallbackQuery, ConnectFlowDeps, ConsumedCallback } from '../connections/connect-flow.js';
import { CallbackError, exchangeCallbackCode, recordConnected, saveConnection } from '../connections/connect-flow.js';
import { findUserByUpstreamAccount } from '../connections/connection-store.js';
import { withTransaction, type Queryable } from '../db/pool.js';
import type { IdpLogin } from '../idp/login.js';
import type { Logger } from '../log.js';
import { redirectParams } from '../render-error.js';
import { insertUser } from '../users/user-store.js';
import { consumeAuthorizationRequest, findApprovedRequest } from './authorization-request-store.js';
import { authorizationResponseUrl } from './authorization-response.js';
import { insertCode } from './code-store.js';
import { recordConsent } from './consent-store.js';
import type { OAuthEndpoints } from './endpoints.js';
import { AuthorizationPageError, AuthorizationRedirectError } from './errors.js';
import { sameHash, sha256 } from '../crypto/secrets.js';
import { createSession } from './session-store.js';

export interface SignInDeps extends ConnectFlowDeps {
  endpoints: OAuthEndpoints;
  log: Logger;
  /** The organisation's IdP in login mode: the consent page offers it. */
  idpLogin?: IdpLogin | undefined;
}

/** Where the browser goes next, and the session cookie to set when a user has just signed in. */
export interface SignInOutcome {
  redirect: string;
  session?: string;
}

/**
 * The end of every successful authorization: the request is consumed (single use), the
 * approval remembered for (user, client), a code minted and the browser sent back to the client.
 * Runs inside the caller's transaction so a failure leaves no code and no half-recorded consent.
 */
export async function finishAuthorization(tx: Queryable, endpoints: OAuthEndpoints, requestId: string, userId: string): Promise<SignInOutcome> {
  const request = await consumeAuthorizationRequest(tx, requestId);
  if (!request) throw new AuthorizationPageError(400, 'Sign-in expired', 'This sign-in has expired or was already used. Start again from your AI client.');
  await recordConsent(tx, userId, request.clientId, request.scopes);
  const code = await insertCode(tx, {
    clientId: request.clientId,
    userId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    resource: request.resource,
    scopes: request.scopes,
  });
  const session = await createSession(tx, userId);
  return { redirect: authorizationResponseUrl(endpoints, request.redirectUri, request.state, { code }), session };
}

/** An error for the client, consuming the request so it cannot be continued afterwards. */
export async function refuseAuthorization(db: Queryable, endpoints: OAuthEndpoints, requestId: string, error: AuthorizationRedirectError): Promise<SignInOutcome> {
  const request = await consumeAuthorizationRequest(db, requestId);
  if (!request) throw new AuthorizationPageError(400, 'Sign-in expired', 'This sign-in has expired or was already used. Start again from your AI client.');
  return { redirect: authorizationResponseUrl(endpoints, request.redirectUri, request.state, redirectParams(error)) };
}

/**
 * The upstream callback of an MCP sign-in (connections/connect-flow.ts consumed the state). The
 * upstream login both identifies the user and connects their account:
 *
 * 1. the callback must come back to the browser that approved (else a link started by an
 *    attacker and sent to a victim would sign the victim in to the attacker's client);
 * 2. the code is exchanged; an upstream refusal goes back to the client as access_denied;
 * 3. the user is the one the approval named (API key or browser session), else the owner of a
 *    connection to this upstream account, else a new user — under an advisory lock, so two
 *    first sign-ins of one account at once create one user;
 * 4. the connection is stored and the authorization finished, in one transaction.
 */
export async function completeUpstreamSignIn(
  deps: SignInDeps,
  consumed: ConsumedCallback,
  query: CallbackQuery,
  browserId: string | undefined,
  actor: Actor,
): Promise<SignInOutcome> {
  const requestId = consumed.authorizationRequestId as string;
  const request = await findApprovedRequest(deps.pool, requestId);
  if (!request) throw new AuthorizationPageError(400, 'Sign-in expired', 'This sign-in has expired or was already used. Start again from your AI client.');
  if (!browserId || !sameHash(request.browserHash, sha256(browserId))) {
    await consumeAuthorizationRequest(deps.pool, requestId);
    deps.log.warn({ client: request.clientId }, 'sign-in callback arrived in a different browser; refused');
    throw new AuthorizationPageError(403, 'Sign-in refused', 'This sign-in was started in a different browser. For your safety it was cancelled; start again from your AI client.');
  }

  let tokens;
  try {
    tokens = await exchangeCallbackCode(deps, consumed, query);
  } catch (err) {
    if (!(err instanceof CallbackError)) throw err;
    const code = err.code === 'access_denied' ? 'access_denied' : 'server_error';
    return refuseAuthorization(deps.pool, deps.endpoints, requestId, new AuthorizationRedirectError(code, err.description));
  }
  const provider = consumed.provider;
  if (consumed.userId === null && tokens.accountId === null) {
    deps.log.error({ provider: provider.id }, 'sign-in impossible: the provider does not say which account logged in (set account_id_field)');
    return refuseAuthorization(deps.pool, deps.endpoints, requestId, new AuthorizationRedirectError('server_error', `${provider.name} did not say which account signed in, so this server cannot sign you in with it.`));
  }

  const outcome = await withTransaction(deps.pool, async (tx) => {
    const userId = consumed.userId ?? (await userForAccount(tx, provider.id, tokens.accountId as string, tokens.accountName));
    if (userId === null) return null;
    await saveConnection(deps, tx, userId, provider, tokens);
    return { userId, redirect: await finishAuthorization(tx, deps.endpoints, requestId, userId) };
  });
  if (outcome) {
    await recordConnected(deps.pool, { userId: outcome.userId, providerId: provider.id, accountId: tokens.accountId, actor }, deps.log);
    return outcome.redirect;
  }
  return refuseAuthorization(deps.pool, deps.endpoints, requestId, new AuthorizationRedirectError('access_denied', 'This account is disabled on this server.'));
}

/**
 * Finds or creates the user an upstream account signs in as; null when that user is disabled.
 * Also used by the web page's upstream sign-in (web/), so both ways in agree on who someone is.
 */
export async function userForAccount(tx: Queryable, providerId: string, accountId: string, accountName?: string | null): Promise<string | null> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sign-in:${providerId}:${accountId}`]);
  const existing = await findUserByUpstreamAccount(tx, providerId, accountId);
  if (existing) return existing.disabled ? null : existing.userId;
  // A new user is named after the account: its name for people when the upstream gave one (GitHub's login, not its number).
  return (await insertUser(tx, (accountName ?? accountId).slice(0, 100))).id;
}

