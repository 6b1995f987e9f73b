import type { SignInCookies } from '../cookies.js';
import { completeUpstreamSignIn, type SignInDeps } from '../../oauth-server/sign-in.js';
import { signInErrorPage } from '../pages/consent.js';
import type { SignInCallback } from './connect-callback.js';
import { sendErrorPage } from '../respond.js';
import { sendOutcome } from './oauth-authorize.js';
import { webActor } from '../sessions.js';

/**
 * The sign-in half of `/api/connect/:provider/callback`: the upstream login of an MCP client's
 * authorization ends in a redirect to the client (code or error), or a page when the request is
 * gone or the browser is not the one that approved.
 */
export function oauthSignInCallback(deps: SignInDeps & { cookies: SignInCookies }): SignInCallback {
  return async (req, res, consumed, query) => {
    try {
      const outcome = await completeUpstreamSignIn(deps, consumed, query, deps.cookies.read(req).browserId, webActor(req, res));
      sendOutcome(res, deps.cookies, outcome);
    } catch (err) {
      sendErrorPage(req, res, err, deps.log, ({ title, message }) => signInErrorPage(title, message));
    }
  };
}
