import express, { Router, type Response } from 'express';
import type { KeyCheck } from '../../auth/key-check.js';
import { authorizationOrigins } from '../../providers/authorization-origins.js';
import { validateAuthorizationRequest } from '../../oauth-server/authorize-request.js';
import { startAuthorization } from '../../oauth-server/authorize.js';
import { authorizationResponseUrl } from '../../oauth-server/authorization-response.js';
import type { ClientDirectory } from '../../oauth-server/clients.js';
import { decide } from '../../oauth-server/decision.js';
import { AuthorizationPageError, AuthorizationRedirectError } from '../../oauth-server/errors.js';
import { cspSourceFor } from '../../oauth-server/redirect-uris.js';
import { newSecret } from '../../oauth-server/secrets.js';
import { SESSION_TTL_SECONDS } from '../../oauth-server/session-store.js';
import type { SignInDeps, SignInOutcome } from '../../oauth-server/sign-in.js';
import type { SignInCookies } from '../cookies.js';
import { consentPage, signInErrorPage } from '../oauth-pages.js';

export interface AuthorizeRouteDeps extends SignInDeps {
  clients: ClientDirectory;
  /** The consent form's pasted key is checked like every other key (refused ones count against the address). */
  keyCheck: KeyCheck;
  cookies: SignInCookies;
}

/**
 * Headers of every sign-in page: only this server's own stylesheet, script and icon (the web
 * page's look), never framed (clickjacking a consent button), never cached, and forms may only
 * lead here, to the sign-in providers and to the client's redirect URI — `form-action` also
 * governs the redirect that answers a form post.
 */
export function sendSignInPage(res: Response, status: number, html: string, formTargets: readonly string[] = []): void {
  const formAction = formTargets.length > 0 ? `'self' ${[...new Set(formTargets)].join(' ')}` : "'none'";
  res
    .status(status)
    .set({
      'Content-Security-Policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
      'X-Frame-Options': 'DENY',
      'Cache-Control': 'no-store',
    })
    .type('html')
    .send(html);
}

/** Sends the browser on (303: the follow-up is a GET even after a form POST) and sets the session if one began. */
export function sendOutcome(res: Response, cookies: SignInCookies, outcome: SignInOutcome): void {
  if (outcome.session) cookies.setSession(res, outcome.session, SESSION_TTL_SECONDS);
  res.set('Cache-Control', 'no-store').redirect(303, outcome.redirect);
}

/** GET /oauth/authorize (validate, consent page or straight back) and POST /oauth/authorize/decision. */
export function oauthAuthorizeRouter(deps: AuthorizeRouteDeps): Router {
  const router = Router();

  const pageError = (res: Response, err: unknown): boolean => {
    if (err instanceof AuthorizationPageError) {
      res.set(err.headers);
      sendSignInPage(res, err.status, signInErrorPage(err.title, err.description));
      return true;
    }
    if (err instanceof AuthorizationRedirectError && err.target) {
      const url = authorizationResponseUrl(deps.endpoints, err.target.redirectUri, err.target.state, { error: err.code, error_description: err.description });
      res.set('Cache-Control', 'no-store').redirect(303, url);
      return true;
    }
    return false;
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
      sendSignInPage(res, 200, consentPage(outcome), [...(await authorizationOrigins(deps.registry, 'sign-in')), cspSourceFor(request.redirectUri)]);
    } catch (err) {
      if (!pageError(res, err)) throw err;
    }
  });

  router.post('/oauth/authorize/decision', express.urlencoded({ extended: false, limit: '8kb' }), async (req, res) => {
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
      if (!pageError(res, err)) throw err;
    }
  });
  return router;
}
