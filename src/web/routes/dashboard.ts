import { Router, type NextFunction, type Request, type Response } from 'express';
import { authorizationOrigins } from '../../providers/authorization-origins.js';
import { z } from 'zod';
import { setApiKey } from '../../connections/api-keys.js';
import { beginUpstreamLogin, oauthProvider } from '../../connections/connect-flow.js';
import { disconnect } from '../../connections/manage.js';
import { AppError, ForbiddenError, NotFoundError } from '../../errors.js';
import { createKeyAs, MAX_GRACE_SECONDS, revokeKeyOf, rotateKeyAs } from '../../keys/manage-keys.js';
import { isScope, type Scope } from '../../keys/scopes.js';
import { sha256 } from '../../oauth-server/secrets.js';
import { checkCsrf, csrfTokenFor } from '../csrf.js';
import { loadDashboard } from '../dashboard-data.js';
import type { WebDeps } from '../deps.js';
import { field, fieldList, parseForm } from '../form.js';
import { noticeFrom, withNotice } from '../notices.js';
import { dashboardPage, type DashboardView } from '../pages/dashboard.js';
import { keyCreatedPage } from '../pages/key-created.js';
import { sendPage } from '../respond.js';
import { moveSessionsToKey } from '../session-store.js';
import { authorityOf, endWebSession, ensureBrowserId, loadVisitor, sessionScopes, visitorOf, webActor, type SessionDeps } from '../sessions.js';

const TEN_YEARS = 10 * 365 * 24 * 3600;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The same rules as PUT /api/connect/:provider/key: printable ASCII without spaces, surrounding whitespace trimmed. */
const ProviderKey = z.string().trim().min(1, 'Enter the API key.').max(4096, 'An API key is at most 4096 characters.').regex(/^[\x21-\x7e]+$/, 'An API key has no spaces or special characters; check what you pasted.');

/** The signed-in side: the dashboard and every form on it. */
export function dashboardRouter(deps: WebDeps & SessionDeps): Router {
  const router = Router();
  const visitor = loadVisitor(deps);
  const form = [parseForm, visitor, signedIn, csrf];
  const oauthNames = deps.registry.providers.filter((p) => p.auth === 'oauth2').map((p) => p.name);

  /** The dashboard, as it is or with one form's error shown in place. */
  const dashboard = async (res: Response, status: number, extra: Pick<DashboardView, 'notice' | 'problem'> = {}) => {
    const { session, sessionValue } = visitorOf(res);
    if (!session || !sessionValue) throw new Error('dashboard rendered without a session');
    const view: DashboardView = {
      data: await loadDashboard(deps, session.userId),
      publicUrl: deps.publicUrl,
      userName: session.userName,
      csrf: csrfTokenFor(sessionValue),
      scopes: sessionScopes(session),
      signedInKey: session.key ? { id: session.key.id, expiresAt: session.key.expiresAt } : null,
      ...extra,
    };
    sendPage(res, status, dashboardPage(view), await authorizationOrigins(deps.registry));
  };
  const session = (res: Response) => visitorOf(res).session as NonNullable<ReturnType<typeof visitorOf>['session']>;
  const requireScope = (res: Response, scope: Scope) => {
    if (!sessionScopes(session(res)).includes(scope)) throw new ForbiddenError(`The key you signed in with lacks the “${scope}” permission.`, 'insufficient_scope');
  };

  router.get('/dashboard', visitor, signedIn, async (req, res) => {
    await dashboard(res, 200, { notice: noticeFrom(req.query, deps.registry) });
  });

  router.post('/dashboard/connections/:provider/connect', ...form, async (req, res) => {
    requireScope(res, 'connections');
    const provider = oauthProvider(deps.registry, req.params.provider as string);
    // Bound to this browser and to the signed-in user: the callback brings the person back here.
    const { authorizationUrl } = await beginUpstreamLogin(deps, {
      userId: session(res).userId,
      providerId: provider.id,
      authorizationRequestId: null,
      webBindingHash: sha256(ensureBrowserId(deps, res)),
    });
    res.set('Cache-Control', 'no-store').redirect(303, authorizationUrl);
  });

  router.post('/dashboard/connections/:provider/key', ...form, async (req, res) => {
    requireScope(res, 'connections');
    const providerId = req.params.provider as string;
    const parsed = ProviderKey.safeParse(field(req, 'api_key'));
    const problem = (status: number, message: string) => dashboard(res, status, { problem: { kind: 'provider', providerId, message } });
    if (!parsed.success) return problem(400, parsed.error.issues[0]?.message ?? 'Enter the API key.');
    try {
      await setApiKey(deps, session(res).userId, providerId, parsed.data);
    } catch (err) {
      if (err instanceof AppError && err.status !== 404) return problem(err.status, err.description);
      throw err;
    }
    res.redirect(303, `${withNotice('/dashboard', 'key_saved', providerId)}#connections`);
  });

  router.post('/dashboard/connections/:provider/disconnect', ...form, async (req, res) => {
    requireScope(res, 'connections');
    const providerId = req.params.provider as string;
    const provider = deps.registry.provider(providerId);
    if (!provider) throw new NotFoundError('There is no such service on this server.');
    let revokedUpstream;
    try {
      ({ revokedUpstream } = await disconnect(deps, session(res).userId, providerId, webActor(req, res)));
    } catch (err) {
      // Already disconnected (another tab): say so where the button was.
      if (err instanceof NotFoundError) return dashboard(res, 404, { problem: { kind: 'provider', providerId, message: err.description } });
      throw err;
    }
    const code = provider.auth === 'api_key' ? 'key_removed' : revokedUpstream === false ? 'disconnected_unconfirmed' : 'disconnected';
    res.redirect(303, `${withNotice('/dashboard', code, providerId)}#connections`);
  });

  router.post('/dashboard/keys', ...form, async (req, res) => {
    requireScope(res, 'keys');
    const values = { name: field(req, 'name').trim(), scopes: fieldList(req, 'scopes').filter(isScope), expires: field(req, 'expires_in') };
    const problem = (status: number, message: string) => dashboard(res, status, { problem: { kind: 'create-key', message, values } });
    if (values.name.length > 100) return problem(400, 'A key name can be at most 100 characters long.');
    if (values.scopes.length === 0) return problem(400, 'Choose at least one permission for the key.');
    const expiresIn = values.expires === '' ? undefined : Number(values.expires);
    if (expiresIn !== undefined && !(Number.isInteger(expiresIn) && expiresIn >= 1 && expiresIn <= TEN_YEARS)) return problem(400, 'Choose when the key expires from the list.');
    let minted;
    try {
      minted = await createKeyAs(deps, authorityOf(session(res)), { name: values.name || undefined, scopes: [...new Set(values.scopes)], expiresIn }, webActor(req, res), 'web');
    } catch (err) {
      if (err instanceof AppError && (err.status === 400 || err.status === 403)) return problem(err.status, err.description);
      throw err;
    }
    const s = session(res);
    sendPage(
      res,
      201,
      keyCreatedPage({
        key: minted.record,
        apiKey: minted.apiKey,
        publicUrl: deps.publicUrl,
        account: { name: s.userName, csrf: csrfTokenFor(visitorOf(res).sessionValue as string) },
        oauthProviderNames: oauthNames,
      }),
    );
  });

  router.post('/dashboard/keys/:id/rotate', ...form, async (req, res) => {
    requireScope(res, 'keys');
    const keyId = keyIdParam(req.params.id);
    const grace = Number(field(req, 'grace_seconds') || '0');
    const problem = (status: number, message: string) => dashboard(res, status, { problem: { kind: 'key', keyId, message } });
    if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS) return problem(400, 'Choose how long the old secret keeps working from the list.');
    const s = session(res);
    let rotation;
    try {
      rotation = await rotateKeyAs(deps, authorityOf(s), keyId, grace, webActor(req, res));
    } catch (err) {
      if (err instanceof AppError && err.status < 500) return problem(err.status, err.description);
      throw err;
    }
    // Rotating the key this session acts as: the session goes on with its replacement.
    if (s.key?.id === rotation.previous.id) await moveSessionsToKey(deps.pool, rotation.previous.id, rotation.minted.record.id);
    sendPage(
      res,
      201,
      keyCreatedPage({
        key: rotation.minted.record,
        apiKey: rotation.minted.apiKey,
        replaced: { prefix: rotation.previous.prefix, endsAt: rotation.previous.endsAt },
        publicUrl: deps.publicUrl,
        account: { name: s.userName, csrf: csrfTokenFor(visitorOf(res).sessionValue as string) },
        oauthProviderNames: oauthNames,
      }),
    );
  });

  router.post('/dashboard/keys/:id/revoke', ...form, async (req, res) => {
    requireScope(res, 'keys');
    const keyId = keyIdParam(req.params.id);
    const s = session(res);
    let revoked;
    try {
      revoked = await revokeKeyOf(deps, s.userId, keyId, 'web', webActor(req, res));
    } catch (err) {
      if (err instanceof NotFoundError) return dashboard(res, 404, { problem: { kind: 'key', keyId, message: err.description } });
      throw err;
    }
    if (s.key?.id === revoked.id) {
      // The session acted as this key: it ends with it.
      await endWebSession(deps, req, res);
      res.redirect(303, withNotice('/', 'sign_in_key_revoked'));
      return;
    }
    res.redirect(303, `${withNotice('/dashboard', 'key_revoked')}#keys`);
  });

  return router;
}

/** Only a signed-in browser gets further; anyone else goes to `/` (saying so when a session just ended). */
function signedIn(req: Request, res: Response, next: NextFunction): void {
  if (visitorOf(res).session) return next();
  const hadCookie = /(?:^|;\s*)(?:__Host-)?mcp_web=/.test(req.headers.cookie ?? '');
  res.redirect(303, hadCookie ? withNotice('/', 'session_over') : '/');
}

function csrf(req: Request, res: Response, next: NextFunction): void {
  checkCsrf(req, visitorOf(res).sessionValue);
  next();
}

function keyIdParam(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw new NotFoundError('No such API key (it may already be revoked or expired).');
  return value.toLowerCase();
}
