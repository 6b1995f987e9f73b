import { hasWorkingConnection } from '../connections/connection-store.js';
import { withTransaction } from '../db/pool.js';
import { hasUpstreamLogin, namesAccount } from '../providers/sign-in-providers.js';
import { insertAuthorizationRequest, markApproved } from './authorization-request-store.js';
import type { AuthorizationRequest } from './authorize-request.js';
import { findConsent } from './consent-store.js';
import { AuthorizationRedirectError } from './errors.js';
import { covers } from './scopes.js';
import { newSecret, sha256 } from '../crypto/secrets.js';
import { findSessionUser } from './session-store.js';
import { finishAuthorization, type SignInDeps, type SignInOutcome } from './sign-in.js';

/** What the consent page needs to render. */
export interface ConsentView {
  request: AuthorizationRequest;
  /** Opaque handle of the pending request, and the form's CSRF token. */
  handle: string;
  csrf: string;
  /** The browser's signed-in user, when recognised. */
  sessionUser: { userId: string; name: string | null } | undefined;
  /** Upstreams whose login can connect an account for a user known here (session or key). */
  providers: Array<{ id: string; name: string }>;
  /** Those whose login also says which account it is, so it can sign someone in ("Allow and sign in with …"). */
  signInProviders: Array<{ id: string; name: string }>;
  /** The organisation's IdP, when the consent page offers signing in with it. */
  idpName: string | undefined;
}

export type AuthorizeOutcome = ({ kind: 'redirect' } & SignInOutcome) | ({ kind: 'consent' } & ConsentView);

/** The providers whose upstream login can connect the account of a user known here. */
export function connectProviders(deps: SignInDeps): Array<{ id: string; name: string }> {
  return deps.registry.providers.filter(hasUpstreamLogin).map((p) => ({ id: p.id, name: p.name }));
}

/** The providers someone unknown here can sign in with: those whose login names the account. */
export function signInProviders(deps: SignInDeps): Array<{ id: string; name: string }> {
  return deps.registry.providers.filter(namesAccount).map((p) => ({ id: p.id, name: p.name }));
}

/**
 * Whether a known user can get a code without visiting the upstream: they have a working
 * connection to a sign-in provider (or the server has none to connect).
 */
export async function readyWithoutUpstream(deps: SignInDeps, userId: string): Promise<boolean> {
  const providers = connectProviders(deps).map((p) => p.id);
  return providers.length === 0 || hasWorkingConnection(deps.pool, userId, providers);
}

/**
 * GET /oauth/authorize after validation: remember the request, then either show the consent
 * page or — for a recognised browser whose user already allowed this client these scopes and
 * has a working connection — answer straight away. `prompt=consent` always shows the page,
 * `prompt=login` ignores the session, `prompt=none` never shows anything (OIDC Core §3.1.2.1).
 */
export async function startAuthorization(
  deps: SignInDeps,
  request: AuthorizationRequest,
  browser: { browserId: string; sessionValue: string | undefined },
): Promise<AuthorizeOutcome> {
  const handle = newSecret();
  const csrf = newSecret();
  const pending = await insertAuthorizationRequest(deps.pool, {
    handleHash: sha256(handle),
    csrfHash: sha256(csrf),
    browserHash: sha256(browser.browserId),
    clientId: request.client.clientId,
    redirectUri: request.redirectUri,
    state: request.state,
    codeChallenge: request.codeChallenge,
    resource: request.resource,
    scopes: request.scopes,
  });
  const sessionUser = browser.sessionValue && request.prompt !== 'login' ? await findSessionUser(deps.pool, browser.sessionValue) : undefined;

  if (sessionUser && request.prompt !== 'consent') {
    const consented = await findConsent(deps.pool, sessionUser.userId, request.client.clientId);
    if (consented && covers(consented, request.scopes) && (await readyWithoutUpstream(deps, sessionUser.userId))) {
      const outcome = await withTransaction(deps.pool, async (tx) => {
        if (!(await markApproved(tx, pending.id, sessionUser.userId, request.scopes))) return undefined;
        return finishAuthorization(tx, deps.endpoints, pending.id, sessionUser.userId);
      });
      if (outcome) return { kind: 'redirect', ...outcome };
    }
  }
  if (request.prompt === 'none') {
    throw new AuthorizationRedirectError(sessionUser ? 'consent_required' : 'login_required', 'The user must sign in or approve this application first.', request);
  }
  return { kind: 'consent', request, handle, csrf, sessionUser, providers: connectProviders(deps), signInProviders: signInProviders(deps), idpName: deps.idpLogin?.name };
}
