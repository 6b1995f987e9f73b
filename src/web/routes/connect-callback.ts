import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { CallbackHandler } from '../../connections/callback-handler.js';
import { CallbackError, consumeCallbackState, finishConnect, type ConnectFlowDeps } from '../../connections/connect-flow.js';
import type { Logger } from '../../log.js';
import { errorPage, successPage } from '../pages/connect-result.js';
import { sendErrorPage, sendPage } from '../respond.js';
import { webActor } from '../sessions.js';

/** A flow's half of the upstream callback, with express's request and response. */
export type SignInCallback = CallbackHandler<Request, Response>;

const CallbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});

/**
 * `GET /api/connect/:provider/callback`, the one redirect URI registered upstream (CONTRACT
 * "Providers file"). No key here: the browser arrives from the upstream, and the single-use state
 * says which flow it belongs to. An MCP client's sign-in and the web page's own logins finish in
 * their handlers; a connect the API started (and the owner confirmed) ends on a page here.
 */
export function connectCallbackRouter(deps: ConnectFlowDeps & { log: Logger; signInCallback: SignInCallback; webCallback: SignInCallback }): Router {
  const router = Router();
  router.get('/api/connect/:provider/callback', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const query = CallbackQuery.safeParse(req.query);
    if (!query.success) {
      sendErrorPage(req, res, new CallbackError('The link is malformed. Start connecting again.'), deps.log, ({ message }) => errorPage('Connection failed', message));
      return;
    }
    try {
      const consumed = await consumeCallbackState(deps, req.params.provider, query.data);
      if (consumed.authorizationRequestId !== null) {
        await deps.signInCallback(req, res, consumed, query.data);
        return;
      }
      if (consumed.webBindingHash !== null) {
        await deps.webCallback(req, res, consumed, query.data);
        return;
      }
      const { providerName, accountId } = await finishConnect(deps, consumed, query.data, webActor(req, res));
      sendPage(res, 200, successPage(providerName, accountId));
    } catch (err) {
      if (err instanceof CallbackError) deps.log.info({ provider: req.params.provider, reason: err.code }, 'connect callback refused');
      sendErrorPage(req, res, err, deps.log, ({ message }) => errorPage('Connection failed', message));
    }
  });
  return router;
}
