import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { apiKeyProvider, setApiKey } from '../../connections/api-keys.js';
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
import { TooManyRequestsError } from '../../errors.js';
import { inFlightMessage, type InFlightLimiter } from '../../limits/in-flight.js';
import type { Logger } from '../../log.js';
import { actorOf } from '../middleware/actor-context.js';
import { callerOf, requireScope } from '../middleware/authenticate.js';
import { sendPage } from '../../web/respond.js';
import { parseInput } from '../middleware/validate.js';
import { errorPage, successPage } from '../pages.js';

const CallbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});

/** Finishes the callback of an upstream login another flow started (an MCP client's sign-in, the web page). */
export type SignInCallback = (req: Request, res: Response, consumed: ConsumedCallback, query: Query) => Promise<void>;

/**
 * Printable ASCII without spaces: what API keys are made of, and all a header can carry safely.
 * Surrounding whitespace (a pasted newline) is trimmed; whitespace inside is refused.
 */
const SetKeyBody = z.strictObject({
  api_key: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(4096, 'must be at most 4096 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
});

/** Connect an upstream account: start → (browser at the upstream) → callback, or PUT an API key; status; disconnect. */
export function connectRouter(
  deps: ConnectFlowDeps & {
    log: Logger;
    authenticate: RequestHandler;
    signInCallback?: SignInCallback;
    webCallback?: SignInCallback;
    /** The tool calls' in-flight caps: checking a key upstream uses the same socket pool. */
    inFlight?: InFlightLimiter;
  },
): Router {
  const router = Router();
  const authed = [deps.authenticate, requireScope('connections')];

  router.get('/api/connect/:provider/start', ...authed, async (req, res) => {
    const { authorizationUrl, state } = await startConnect(deps, callerOf(res).userId, req.params.provider as string);
    res.set('Cache-Control', 'no-store').json({
      authorization_url: authorizationUrl,
      state,
      message:
        'Open authorization_url in a browser: confirm there with this API key that the connection is yours, then log in and approve access. The link is valid for 10 minutes and works once.',
    });
  });

  // No key here: the browser arrives from the upstream, and the single-use state says who it is.
  router.get('/api/connect/:provider/callback', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const query = CallbackQuery.safeParse(req.query);
    if (!query.success) {
      sendPage(res, 400, errorPage('Connection failed', 'The link is malformed. Start connecting again.'));
      return;
    }
    try {
      const consumed = await consumeCallbackState(deps, req.params.provider as string, query.data);
      // The one redirect URI registered upstream serves both flows (CONTRACT "Providers file").
      if (consumed.authorizationRequestId !== null && deps.signInCallback) {
        await deps.signInCallback(req, res, consumed, query.data);
        return;
      }
      if (consumed.webBindingHash !== null && deps.webCallback) {
        await deps.webCallback(req, res, consumed, query.data);
        return;
      }
      const { providerName, accountId } = await finishConnect(deps, consumed, query.data, actorOf(req, res));
      sendPage(res, 200, successPage(providerName, accountId));
    } catch (err) {
      if (!(err instanceof CallbackError)) throw err;
      deps.log.info({ provider: req.params.provider, reason: err.code }, 'connect callback refused');
      sendPage(res, err.code === 'not_found' ? 404 : err.code === 'unconfirmed' ? 403 : 400, errorPage('Connection failed', err.description));
    }
  });

  router.get('/api/connect/:provider/status', ...authed, async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await connectionStatus(deps, callerOf(res).userId, req.params.provider as string));
  });

  router.put('/api/connect/:provider/key', ...authed, async (req, res) => {
    const providerId = req.params.provider as string;
    apiKeyProvider(deps.registry, providerId); // 404 or 400 before the body is even looked at
    const { api_key } = parseInput(SetKeyBody, req.body);
    const caller = callerOf(res);
    const leave = deps.inFlight?.enter(caller.userId, caller.keyPrefix, providerId) ?? (() => undefined);
    if (typeof leave !== 'function') throw new TooManyRequestsError(inFlightMessage(leave, deps.registry.provider(providerId)?.name ?? providerId), 1);
    try {
      await setApiKey(deps, caller.userId, providerId, api_key);
    } finally {
      leave();
    }
    res.set('Cache-Control', 'no-store').json(await connectionStatus(deps, callerOf(res).userId, providerId));
  });

  router.delete('/api/connect/:provider', ...authed, async (req, res) => {
    const providerId = req.params.provider as string;
    const { revokedUpstream } = await disconnect(deps, callerOf(res).userId, providerId, actorOf(req, res));
    const provider = deps.registry.provider(providerId);
    if (provider?.auth === 'api_key') {
      const next = provider.fallback_key ? "Tool calls now use this server's shared key." : `Tool calls need a key again: PUT /api/connect/${providerId}/key.`;
      res.json({ message: `Your ${provider.name} API key was deleted here. ${next}`, revoked_upstream: revokedUpstream });
      return;
    }
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
