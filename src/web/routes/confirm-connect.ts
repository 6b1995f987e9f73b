import { Router, type Request, type Response } from 'express';
import { authorizationOrigins } from '../../providers/authorization-origins.js';
import { findPendingConnect, type PendingConnect } from '../../connections/connect-confirmation.js';
import { confirmConnect } from '../../connections/connect-flow.js';
import { AppError, TooManyRequestsError } from '../../errors.js';
import { createAuthenticator } from '../../auth/authenticator.js';
import { sha256 } from '../../oauth-server/secrets.js';
import { checkCsrf, csrfTokenFor } from '../csrf.js';
import type { WebDeps } from '../deps.js';
import { field, parseForm } from '../form.js';
import { confirmConnectPage } from '../pages/confirm-connect.js';
import { messagePage } from '../pages/message.js';
import { sendPage } from '../respond.js';
import { ensureBrowserId, loadVisitor, sessionScopes, visitorOf, type SessionDeps } from '../sessions.js';

const GONE = {
  title: 'Link not valid',
  message: 'This connect link is unknown, has expired (links last 10 minutes) or was already used. Ask for a new one: GET /api/connect/<provider>/start.',
  link: { href: '/', text: 'Back to the start page' },
};

/**
 * `/connect/confirm`: where the `authorization_url` of `GET /api/connect/:provider/start` leads.
 * The key's owner proves who they are (their key, checked like every other key — refused ones
 * count against the address — or a web session of the same user); the flow is then bound to this
 * browser and the browser goes on to the upstream login (see connections/connect-confirmation.ts).
 */
export function confirmConnectRouter(deps: WebDeps & SessionDeps): Router {
  const router = Router();
  const visitor = loadVisitor(deps);
  const authenticator = createAuthenticator(deps.auth);

  const show = async (res: Response, status: number, state: string, pending: PendingConnect, error?: string) => {
    const session = visitorOf(res).session;
    sendPage(
      res,
      status,
      confirmConnectPage({
        state,
        csrf: csrfTokenFor(ensureBrowserId(deps, res)),
        providerName: deps.registry.provider(pending.providerId)?.name ?? pending.providerId,
        userName: pending.userName,
        sameUserSignedIn: session !== undefined && session.userId === pending.userId && sessionScopes(session).includes('connections'),
        error,
      }),
      await authorizationOrigins(deps.registry),
    );
  };

  router.get('/connect/confirm', visitor, async (req, res) => {
    const state = typeof req.query.state === 'string' ? req.query.state : '';
    const pending = state ? await findPendingConnect(deps.pool, state) : undefined;
    if (!pending) return sendPage(res, 404, messagePage(GONE));
    await show(res, 200, state, pending);
  });

  router.post('/connect/confirm', parseForm, visitor, async (req, res) => {
    const browserId = visitorOf(res).browserId;
    checkCsrf(req, browserId);
    const state = field(req, 'state');
    const pending = state ? await findPendingConnect(deps.pool, state) : undefined;
    if (!pending) return sendPage(res, 404, messagePage(GONE));
    const userId = await confirmingUser(req, res, pending);
    if (typeof userId !== 'string') return await show(res, userId.status, state, pending, userId.error);
    const upstream = await confirmConnect(deps, state, userId, sha256(browserId as string));
    if (!upstream) return sendPage(res, 404, messagePage(GONE));
    res.set('Cache-Control', 'no-store').redirect(303, upstream);
  });

  /** The pending flow's user, proven by this browser's session or the typed key; else why not. */
  async function confirmingUser(req: Request, res: Response, pending: PendingConnect): Promise<string | { status: number; error: string }> {
    const session = visitorOf(res).session;
    if (field(req, 'use_session') && session && session.userId === pending.userId && sessionScopes(session).includes('connections')) return session.userId;
    const presented = field(req, 'api_key').trim();
    if (!presented) return { status: 400, error: 'Enter the API key that asked for this link.' };
    try {
      const { apiKey, rate } = await authenticator({ headers: { authorization: `Bearer ${presented}` }, ip: req.ip, keyInQuery: false });
      if (rate && !rate.allowed) {
        res.set('Retry-After', String(rate.resetSeconds));
        return { status: 429, error: `This key is over its rate limit. Try again in ${rate.resetSeconds} s.` };
      }
      // The same answer for another user's key as for a wrong one: the page tells nobody whose link this is beyond its name.
      if (!apiKey || apiKey.userId !== pending.userId) return { status: 403, error: 'This is not the key that asked for this link. Nothing was connected.' };
      if (!apiKey.scopes.includes('connections')) return { status: 403, error: 'This key may not connect accounts (it lacks the “connections” permission).' };
      return apiKey.userId;
    } catch (err) {
      if (err instanceof TooManyRequestsError) {
        res.set(err.headers);
        return { status: 429, error: err.description };
      }
      if (err instanceof AppError && err.status === 401) return { status: 400, error: 'This key is not valid, or it was revoked or has expired.' };
      throw err;
    }
  }

  return router;
}
