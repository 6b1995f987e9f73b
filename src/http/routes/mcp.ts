import { Router, type RequestHandler } from 'express';
import { JsonRpcError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { jsonRpcError } from '../../render-error.js';
import { dnsRebindingGuard } from '../middleware/dns-rebinding.js';

/**
 * `/mcp` for every method but POST (POST is served ahead of express by src/mcp/endpoint.ts).
 * Stateless server: no standalone SSE stream to GET and no session to DELETE (MCP 2025-11-25
 * transports: 405 is the specified answer for both). Host/Origin are checked before the key,
 * so a rebinding page learns nothing.
 */
export function mcpRouter(deps: { publicUrl: string; authenticate: RequestHandler; log: Logger }): Router {
  const router = Router();
  router.all('/mcp', dnsRebindingGuard(deps.publicUrl), deps.authenticate, (req, res) => {
    const refusal = new JsonRpcError(405, -32000, `Method not allowed: ${req.method} /mcp (this server is stateless; use POST).`, { headers: { Allow: 'POST' } });
    const { status, headers, body } = jsonRpcError(refusal, deps.log);
    res.status(status).set(headers).json(body);
  });
  return router;
}
