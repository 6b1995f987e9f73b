import express, { Router, type RequestHandler } from 'express';
import type { Pool } from '../../db/pool.js';
import type { Logger } from '../../log.js';
import { authenticateClient, presentedCredentials } from '../../oauth-server/clients.js';
import type { OAuthEndpoints } from '../../oauth-server/endpoints.js';
import { InvalidRequestError } from '../../errors.js';
import { UnsupportedGrantTypeError } from '../../oauth-server/errors.js';
import { revokeToken } from '../../oauth-server/revocation.js';
import { exchangeAuthorizationCode, exchangeRefreshToken } from '../../oauth-server/token-grants.js';
import { publicCors } from '../middleware/cors.js';
import { rejectNulInBody } from '../middleware/reject-nul.js';

const form: RequestHandler[] = [express.urlencoded({ extended: false, limit: '16kb' }), rejectNulInBody((d) => new InvalidRequestError(d))];

/** Parameters of a form body; a repeated parameter is an error (RFC 6749 §3.2). */
function params(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries((body ?? {}) as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new InvalidRequestError(`The ${key} parameter is repeated or malformed.`);
    out[key] = value;
  }
  return out;
}

/** POST /oauth/token (RFC 6749 §3.2) and POST /oauth/revoke (RFC 7009). */
export function oauthTokenRouter(deps: { pool: Pool; endpoints: OAuthEndpoints; log: Logger }): Router {
  const router = Router();

  router.all('/oauth/token', publicCors('POST'));
  router.post('/oauth/token', (_req, res, next) => {
    // Set first, so error responses carry them too (RFC 6749 §5.1).
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    next();
  }, ...form, async (req, res) => {
    if (!req.is('application/x-www-form-urlencoded')) throw new InvalidRequestError('Send the token request as application/x-www-form-urlencoded.');
    const p = params(req.body);
    const client = await authenticateClient(deps.pool, presentedCredentials(req.headers.authorization, p));
    switch (p.grant_type) {
      case 'authorization_code':
        res.json(await exchangeAuthorizationCode(deps, client, p));
        return;
      case 'refresh_token':
        res.json(await exchangeRefreshToken(deps, client, p));
        return;
      case undefined:
        throw new InvalidRequestError('grant_type is required.');
      default:
        throw new UnsupportedGrantTypeError('Supported grant types: authorization_code, refresh_token.');
    }
  });

  router.all('/oauth/revoke', publicCors('POST'));
  router.post('/oauth/revoke', (_req, res, next) => {
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    next();
  }, ...form, async (req, res) => {
    if (!req.is('application/x-www-form-urlencoded')) throw new InvalidRequestError('Send the revocation request as application/x-www-form-urlencoded.');
    const p = params(req.body);
    const client = await authenticateClient(deps.pool, presentedCredentials(req.headers.authorization, p));
    if (!p.token) throw new InvalidRequestError('token is required.');
    await revokeToken(deps.pool, client, p.token);
    res.status(200).end();
  });
  return router;
}
