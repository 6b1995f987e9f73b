import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { apiKeyProvider, setApiKey } from '../../connections/api-keys.js';
import { startConnect, type ConnectFlowDeps } from '../../connections/connect-flow.js';
import { connectionStatus, disconnect } from '../../connections/manage.js';
import { TooManyRequestsError } from '../../errors.js';
import { inFlightMessage, type InFlightLimiter } from '../../limits/in-flight.js';
import type { Logger } from '../../log.js';
import { actorOf } from '../middleware/actor-context.js';
import { callerOf, requireScope } from '../middleware/authenticate.js';
import { parseInput } from '../middleware/validate.js';

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

/**
 * Connect an upstream account: start (the browser then goes through the confirm page and the
 * upstream login to web/routes/connect-callback.ts), or PUT an API key; status; disconnect.
 */
export function connectRouter(
  deps: ConnectFlowDeps & {
    log: Logger;
    authenticate: RequestHandler;
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
