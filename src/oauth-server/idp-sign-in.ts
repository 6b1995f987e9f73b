import { withTransaction } from '../db/pool.js';
import { userForIdentity, type IdpIdentity } from '../idp/identity-store.js';
import { findApprovedRequest } from './authorization-request-store.js';
import { AuthorizationPageError, AuthorizationRedirectError } from './errors.js';
import { finishAuthorization, refuseAuthorization, type SignInDeps, type SignInOutcome } from './sign-in.js';

/**
 * The consent step's "Sign in with <IdP>" came back (idp/login.ts verified the id_token and
 * that this is the browser that approved): the IdP identity is the user, and the client gets its
 * code at once. Upstream accounts are connected later on the dashboard, so a DCR-only client
 * (ChatGPT, Claude.ai) can sign in through the organisation's IdP before anything is connected.
 */
export async function completeIdpAuthorization(deps: SignInDeps, requestId: string, identity: IdpIdentity): Promise<SignInOutcome> {
  const request = await findApprovedRequest(deps.pool, requestId);
  if (!request) throw new AuthorizationPageError(400, 'Sign-in expired', 'This sign-in has expired or was already used. Start again from your AI client.');
  const user = await userForIdentity(deps.pool, identity);
  if (user.disabled) {
    return refuseAuthorization(deps.pool, deps.endpoints, requestId, new AuthorizationRedirectError('access_denied', 'This account is disabled on this server.'));
  }
  return withTransaction(deps.pool, (tx) => finishAuthorization(tx, deps.endpoints, requestId, user.userId));
}
