import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import {
  CallbackError,
  consumeCallbackState,
  finishConnect,
  startConnect,
  type CallbackQuery as Query,
  type ConnectFlowDeps,
  type ConsumedCallback,
} from '../../connections/connect-flow.js';
import { connectionStatus, disconnect } from '../../connections/manage.js';
import type { Logger } from '../../log.js';
import { callerOf, requireScope } from '../middleware/authenticate.js';
import { errorPage, successPage } from '../pages.js';

const CallbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});

/** Finishes the callback of an upstream login an MCP client's sign-in started (oauth-server). */
export type SignInCallback = (req: Request, res: Response, consumed: ConsumedCallback, query: Query) => Promise<void>;

/** Connect an upstream account: start → (browser at the upstream) → callback; status; disconnect. */
export function connectRouter(deps: ConnectFlowDeps & { log: Logger; authenticate: RequestHandler; signInCallback?: SignInCallback }): Router {
  const router = Router();
  const authed = [deps.authenticate, requireScope('connections')];

  router.get('/api/connect/:provider/start', ...authed, async (req, res) => {
    const { authorizationUrl, state } = await startConnect(deps, callerOf(res).userId, req.params.provider as string);
    res.set('Cache-Control', 'no-store').json({
      authorization_url: authorizationUrl,
      state,
      message: 'Open authorization_url in a browser and approve access. The link is valid for 10 minutes and works once.',
    });
  });

  // No key here: the browser arrives from the upstream, and the single-use state says who it is.
  router.get('/api/connect/:provider/callback', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const query = CallbackQuery.safeParse(req.query);
    if (!query.success) {
      res.status(400).type('html').send(errorPage('Connection failed', 'The link is malformed. Start connecting again.'));
      return;
    }
    try {
      const consumed = await consumeCallbackState(deps, req.params.provider as string, query.data);
      // The one redirect URI registered upstream serves both flows (CONTRACT "Providers file").
      if (consumed.authorizationRequestId !== null && deps.signInCallback) {
        await deps.signInCallback(req, res, consumed, query.data);
        return;
      }
      const { providerName, accountId } = await finishConnect(deps, consumed, query.data);
      res.status(200).type('html').send(successPage(providerName, accountId));
    } catch (err) {
      if (!(err instanceof CallbackError)) throw err;
      deps.log.info({ provider: req.params.provider, reason: err.code }, 'connect callback refused');
      res.status(err.code === 'not_found' ? 404 : 400).type('html').send(errorPage('Connection failed', err.description));
    }
  });

  router.get('/api/connect/:provider/status', ...authed, async (req, res) => {
    res.json(await connectionStatus(deps.pool, deps.registry, callerOf(res).userId, req.params.provider as string));
  });

  router.delete('/api/connect/:provider', ...authed, async (req, res) => {
    const { revokedUpstream } = await disconnect(deps, callerOf(res).userId, req.params.provider as string);
    const message =
      revokedUpstream === false
        ? 'Disconnected. Your tokens were deleted here, but revocation at the provider could not be confirmed; you may also revoke access in your account settings there.'
        : revokedUpstream
          ? 'Disconnected. Your tokens were revoked at the provider and deleted here.'
          : 'Disconnected. Your tokens were deleted here.';
    res.json({ message, revoked_upstream: revokedUpstream });
  });

  return router;
}
