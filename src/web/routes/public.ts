import { Router, type Request, type Response } from 'express';
import { beginUpstreamLogin } from '../../connections/connect-flow.js';
import { AppError, TooManyRequestsError } from '../../errors.js';
import { createAuthenticator } from '../../auth/authenticator.js';
import { sha256 } from '../../oauth-server/secrets.js';
import { registerUser } from '../../users/register.js';
import { checkCsrf, csrfTokenFor } from '../csrf.js';
import type { WebDeps } from '../deps.js';
import { field, parseForm } from '../form.js';
import { noticeFrom, withNotice } from '../notices.js';
import { landingPage, type LandingView } from '../pages/landing.js';
import { registeredPage } from '../pages/registered.js';
import { sendPage } from '../respond.js';
import { endWebSession, ensureBrowserId, loadVisitor, startWebSession, visitorOf, webActor, type SessionDeps } from '../sessions.js';

/**
 * The signed-out side: `/` (what this is, and the ways in), registering, signing in with an API
 * key or through an upstream login, and signing out. Every form is a POST with a CSRF token.
 */
export function publicRouter(deps: WebDeps & SessionDeps): Router {
  const router = Router();
  const visitor = loadVisitor(deps);
  // Form bodies are read here, after the app's actor context: enter it again so audit events see the request.
  const form = [parseForm, visitor];
  const authenticator = createAuthenticator(deps.auth);
  // A remote MCP server's OAuth says nothing about who the user is: it is for connecting, not signing in.
  const oauthProviders = deps.registry.providers.flatMap((p) => (p.auth === 'oauth2' && !p.mcp && !p.demo ? [p] : []));
  const upstreamOrigins = oauthProviders.map((p) => new URL(p.authorization_url).origin);

  /** The landing page, as it is or with a form's inline error (and what was typed, minus secrets). */
  const landing = (res: Response, status: number, extra: Partial<LandingView> = {}) => {
    const csrf = csrfTokenFor(ensureBrowserId(deps, res));
    const view: LandingView = {
      csrf,
      signInProviders: oauthProviders.map((p) => ({ id: p.id, name: p.name })),
      providerNames: deps.registry.providers.map((p) => p.name),
      ...extra,
    };
    sendPage(res, status, landingPage(view), upstreamOrigins);
  };
  const retryAfter = (res: Response, err: AppError) => res.set(err.headers);

  router.get('/', visitor, (req, res) => {
    if (visitorOf(res).session) {
      res.redirect(303, '/dashboard');
      return;
    }
    landing(res, 200, { notice: noticeFrom(req.query, deps.registry) });
  });

  router.post('/register', ...form, async (req, res) => {
    checkCsrf(req, visitorOf(res).browserId);
    const name = field(req, 'name').trim();
    if (name.length > 100) {
      landing(res, 400, { errors: { register: 'Your name can be at most 100 characters long.' }, values: { name } });
      return;
    }
    // Registering costs a bcrypt hash: limited per client address, like POST /api/users/register.
    const wait = deps.registrations.blockedFor(req.ip);
    if (wait !== undefined) {
      retryAfter(res, new TooManyRequestsError('', wait));
      landing(res, 429, { errors: { register: `Too many new accounts from your address. Try again in ${wait} s.` }, values: { name } });
      return;
    }
    deps.registrations.hit(req.ip);
    const { userId, apiKey } = await registerUser(deps.pool, deps.keys, name || null, webActor(req, res));
    const session = await startWebSession(deps, req, res, { userId, key: null, via: 'register' });
    sendPage(
      res,
      201,
      registeredPage({
        name: name || null,
        apiKey,
        publicUrl: deps.publicUrl,
        csrf: csrfTokenFor(session),
        oauthProviderNames: oauthProviders.map((p) => p.name),
      }),
    );
  });

  router.post('/sign-in', ...form, async (req, res) => {
    checkCsrf(req, visitorOf(res).browserId);
    const presented = field(req, 'api_key').trim();
    const refuse = (status: number, message: string) => landing(res, status, { errors: { apiKey: message } });
    if (!presented) return refuse(400, 'Enter your API key.');
    // The API's own checks: a refused key counts against the address, and a blocked address is
    // refused before any lookup or bcrypt. The key itself goes no further than this request.
    let outcome;
    try {
      outcome = await authenticator({ headers: { authorization: `Bearer ${presented}` }, ip: req.ip, keyInQuery: false });
    } catch (err) {
      if (err instanceof TooManyRequestsError) {
        retryAfter(res, err);
        return refuse(429, err.description);
      }
      if (err instanceof AppError && err.status === 401) return refuse(400, 'This key is not valid, or it was revoked or has expired.');
      throw err;
    }
    const key = outcome.apiKey;
    if (!key) return refuse(400, 'This key is not valid, or it was revoked or has expired.');
    if (outcome.rate && !outcome.rate.allowed) {
      res.set('Retry-After', String(outcome.rate.resetSeconds));
      return refuse(429, `This key is over its rate limit. Try again in ${outcome.rate.resetSeconds} s.`);
    }
    if (!key.scopes.includes('keys')) {
      return refuse(403, 'This key cannot manage keys (it lacks the “keys” permission). Sign in with the key you got when you registered, or with a key that has that permission.');
    }
    await startWebSession(deps, req, res, { userId: key.userId, key, via: 'key' });
    res.redirect(303, '/dashboard');
  });

  router.post('/sign-in/upstream', ...form, async (req, res) => {
    const browserId = visitorOf(res).browserId;
    checkCsrf(req, browserId);
    const provider = oauthProviders.find((p) => p.id === field(req, 'provider'));
    if (!provider) return landing(res, 400, { errors: { upstream: 'Choose one of the services listed to sign in with.' } });
    // The login is bound to this browser: the callback must arrive with the same binding cookie.
    const { authorizationUrl } = await beginUpstreamLogin(deps, {
      userId: null,
      providerId: provider.id,
      authorizationRequestId: null,
      webBindingHash: sha256(browserId as string),
    });
    res.set('Cache-Control', 'no-store').redirect(303, authorizationUrl);
  });

  router.post('/sign-out', ...form, async (req: Request, res: Response) => {
    const value = visitorOf(res).sessionValue;
    // Signing out of a session that is already over needs no token: there is nothing to protect.
    if (value) checkCsrf(req, value);
    await endWebSession(deps, req, res);
    res.redirect(303, withNotice('/', 'signed_out'));
  });

  return router;
}
