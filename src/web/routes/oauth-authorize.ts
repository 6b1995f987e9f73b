import { Router, type Request, type Response } from 'express';
import type { KeyCheck } from '../../auth/key-check.js';
import { authorizationOrigins } from '../../providers/authorization-origins.js';
import { validateAuthorizationRequest } from '../../oauth-server/authorize-request.js';
import { startAuthorization } from '../../oauth-server/authorize.js';
import { authorizationResponseUrl } from '../../oauth-server/authorization-response.js';
import type { ClientDirectory } from '../../oauth-server/clients.js';
import { decide } from '../../oauth-server/decision.js';
import { AuthorizationRedirectError } from '../../oauth-server/errors.js';
import { redirectError } from '../../render-error.js';
import { cspSourceFor } from '../../oauth-server/redirect-uris.js';
import { newSecret } from '../../crypto/secrets.js';
import { SESSION_TTL_SECONDS } from '../../oauth-server/session-store.js';
import type { SignInDeps, SignInOutcome } from '../../oauth-server/sign-in.js';
import type { SignInCookies } from '../cookies.js';
import { consentPage, signInErrorPage } from '../pages/consent.js';
import { parseForm } from '../form.js';
import { sendErrorPage, sendPage } from '../respond.js';

export interface AuthorizeRouteDeps extends SignInDeps {
  clients: ClientDirectory;
  /** The consent form's pasted key is checked like every other key (refused ones count against the address). */
  keyCheck: KeyCheck;
  cookies: SignInCookies;
}

/** Sends the browser on (303: the follow-up is a GET even after a form POST) and sets the session if one began. */
export function sendOutcome(res: Response, cookies: SignInCookies, outcome: SignInOutcome): void {
  if (outcome.session) cookies.setSession(res, outcome.session, SESSION_TTL_SECONDS);
  res.set('Cache-Control', 'no-store').redirect(303, outcome.redirect);
}

/** GET /oauth/authorize (validate, consent page or straight back) and POST /oauth/authorize/decision. */
export function oauthAuthorizeRouter(deps: AuthorizeRouteDeps): Router {
  const router = Router();

  /**
   * Once the client and its redirect URI are verified, errors go back to the client (RFC 6749
   * §4.1.2.1); before that, or for anything else, they are a page here (never a redirect).
   */
  const fail = (req: Request, res: Response, err: unknown): void => {
    if (err instanceof AuthorizationRedirectError && err.target) {
      const params = redirectError(err, deps.log, { surface: 'redirect', path: req.path });
      res.set('Cache-Control', 'no-store').redirect(303, authorizationResponseUrl(deps.endpoints, err.target.redirectUri, err.target.state, params));
      return;
    }
    sendErrorPage(req, res, err, deps.log, ({ title, message }) => signInErrorPage(title, message));
  };

  router.get('/oauth/authorize', async (req, res) => {
    try {
      const request = await validateAuthorizationRequest(deps.clients, deps.endpoints, req.query as Record<string, unknown>);
      const { browserId: existing, sessionValue } = deps.cookies.read(req);
      const browserId = existing ?? newSecret();
      deps.cookies.setBrowser(res, browserId);
      const outcome = await startAuthorization(deps, request, { browserId, sessionValue });
      if (outcome.kind === 'redirect') {
        sendOutcome(res, deps.cookies, outcome);
        return;
      }
      sendPage(res, 200, consentPage(outcome), [...(await authorizationOrigins(deps.registry, 'sign-in')), ...(deps.idpLogin ? [deps.idpLogin.origin] : []), cspSourceFor(request.redirectUri)]);
    } catch (err) {
      fail(req, res, err);
    }
  });

  router.post('/oauth/authorize/decision', parseForm, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const field = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : undefined);
    try {
      const outcome = await decide(deps, {
        handle: field('request'),
        csrf: field('csrf_token'),
        decision: field('decision'),
        provider: field('provider'),
        apiKey: field('api_key'),
        ip: req.ip,
        ...deps.cookies.read(req),
      });
      sendOutcome(res, deps.cookies, outcome);
    } catch (err) {
      fail(req, res, err);
    }
  });
  return router;
}
