import { Router } from 'express';
import { ForbiddenError } from '../../errors.js';
import { userForIdentity } from '../../idp/identity-store.js';
import { IDP_CALLBACK_PATH, IdpLoginError, type IdpLogin } from '../../idp/login.js';
import { oauthEndpoints } from '../../oauth-server/endpoints.js';
import { completeIdpAuthorization } from '../../oauth-server/idp-sign-in.js';
import { sendOutcome } from './oauth-authorize.js';
import { signInErrorPage } from '../pages/consent.js';
import { checkCsrf } from '../csrf.js';
import type { WebDeps } from '../deps.js';
import { parseForm } from '../form.js';
import { withNotice } from '../notices.js';
import { messagePage } from '../pages/message.js';
import { sendErrorPage } from '../respond.js';
import { ensureBrowserId, loadVisitor, startWebSession, visitorOf, type SessionDeps } from '../sessions.js';

/**
 * "Sign in with <IdP>" (login mode): `POST /sign-in/idp` sends the browser to the IdP, and
 * `GET /sign-in/idp/callback` — the one redirect URI registered there — ends either in a web
 * session (the dashboard) or, when the login was the consent step of an MCP client's sign-in,
 * in a redirect to that client with its code.
 */
export function idpSignInRouter(deps: WebDeps & SessionDeps & { idpLogin: IdpLogin }): Router {
  const router = Router();
  const visitor = loadVisitor(deps);
  const endpoints = oauthEndpoints(deps.publicUrl);
  const back = { href: '/', text: 'Back to the start page' };

  router.post('/sign-in/idp', parseForm, visitor, async (req, res) => {
    checkCsrf(req, visitorOf(res).browserId);
    const url = await deps.idpLogin.begin({ browserId: ensureBrowserId(deps, res), authorizationRequestId: null });
    res.set('Cache-Control', 'no-store').redirect(303, url);
  });

  router.get(IDP_CALLBACK_PATH, visitor, async (req, res) => {
    let outcome;
    try {
      outcome = await deps.idpLogin.complete(req.query as Record<string, unknown>, deps.browserCookies.read(req).browserId);
    } catch (err) {
      if (err instanceof IdpLoginError) deps.log.info({ status: err.status }, 'IdP sign-in refused');
      sendErrorPage(req, res, err, deps.log, ({ message }) => messagePage({ title: `Could not sign in with ${deps.idpLogin.name}`, message, link: back }));
      return;
    }
    if (outcome.authorizationRequestId) {
      try {
        const signIn = { ...deps, endpoints };
        sendOutcome(res, deps.browserCookies, await completeIdpAuthorization(signIn, outcome.authorizationRequestId, outcome.identity));
      } catch (err) {
        sendErrorPage(req, res, err, deps.log, ({ title, message }) => signInErrorPage(title, message));
      }
      return;
    }
    const user = await userForIdentity(deps.pool, outcome.identity);
    if (user.disabled) {
      const disabled = new ForbiddenError('This account is disabled on this server. Ask its operator.', 'access_denied', { title: 'Account disabled' });
      sendErrorPage(req, res, disabled, deps.log, ({ title, message }) => messagePage({ title, message, link: back }));
      return;
    }
    await startWebSession(deps, req, res, { userId: user.userId, key: null, via: 'idp' });
    res.set('Cache-Control', 'no-store').redirect(303, withNotice('/dashboard', 'signed_in'));
  });
  return router;
}
