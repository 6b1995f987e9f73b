import express, { Router } from 'express';
import type { Pool } from '../../db/pool.js';
import type { Logger } from '../../log.js';
import { parseClientMetadata, registerClient, registrationResponse } from '../../oauth-server/client-registration.js';
import { InvalidClientMetadataError } from '../../oauth-server/errors.js';
import { publicCors } from '../middleware/cors.js';
import { rejectNulInBody } from '../middleware/reject-nul.js';

/** RFC 7591 dynamic client registration: open, as MCP clients expect; clients persist in PostgreSQL. */
export function oauthRegisterRouter(deps: { pool: Pool; log: Logger }): Router {
  const router = Router();
  router.all('/oauth/register', publicCors('POST'));
  router.post('/oauth/register', express.json({ limit: '16kb' }), rejectNulInBody((d) => new InvalidClientMetadataError(d)), async (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (!req.is('application/json')) throw new InvalidClientMetadataError('Send the client metadata as application/json.');
    const registered = await registerClient(deps.pool, parseClientMetadata(req.body), 'dynamic');
    deps.log.info({ client: registered.client.clientId, auth: registered.client.tokenEndpointAuthMethod }, 'OAuth client registered');
    res.status(201).json(registrationResponse(registered));
  });
  return router;
}
