import { hasWorkingConnection } from '../connections/connection-store.js';
import { withTransaction } from '../db/pool.js';
import type { ProviderDefinition } from '../providers/schema.js';
import { insertAuthorizationRequest, markApproved } from './authorization-request-store.js';
import type { AuthorizationRequest } from './authorize-request.js';
import { findConsent } from './consent-store.js';
import { AuthorizationRedirectError } from './errors.js';
import { covers } from './scopes.js';
import { newSecret, sha256 } from './secrets.js';
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
  providers: Array<{ id: string; name: string }>;
  /** The organisation's IdP, when the consent page offers signing in with it. */
  idpName: string | undefined;
}

export type AuthorizeOutcome = ({ kind: 'redirect' } & SignInOutcome) | ({ kind: 'consent' } & ConsentView);

/** The providers a user can sign in with: those with an OAuth login that names the account. */
export function signInProviders(deps: SignInDeps): Array<{ id: string; name: string }> {
  // A remote MCP server's OAuth names no account (no id_token): it connects, it does not sign in.
  return deps.registry.providers.filter((p: ProviderDefinition) => p.auth === 'oauth2' && !p.mcp).map((p) => ({ id: p.id, name: p.name }));
}

/**
 * Whether a known user can get a code without visiting the upstream: they have a working
 * connection to a sign-in provider (or the server has none to connect).
 */
export async function readyWithoutUpstream(deps: SignInDeps, userId: string): Promise<boolean> {
  const providers = signInProviders(deps).map((p) => p.id);
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
  return { kind: 'consent', request, handle, csrf, sessionUser, providers: signInProviders(deps), idpName: deps.idpLogin?.name };
}
