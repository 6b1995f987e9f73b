import { Router, type RequestHandler } from 'express';
import { dnsRebindingGuard } from '../middleware/dns-rebinding.js';

/**
 * `/mcp` for every method but POST (POST is served ahead of express by src/mcp/endpoint.ts).
 * Stateless server: no standalone SSE stream to GET and no session to DELETE (MCP 2025-11-25
 * transports: 405 is the specified answer for both). Host/Origin are checked before the key,
 * so a rebinding page learns nothing.
 */
export function mcpRouter(deps: { publicUrl: string; authenticate: RequestHandler }): Router {
  const router = Router();
  router.all('/mcp', dnsRebindingGuard(deps.publicUrl), deps.authenticate, (req, res) => {
    res.status(405).set('Allow', 'POST').json({
      jsonrpc: '2.0',
      error: { code: -32000, message: `Method not allowed: ${req.method} /mcp (this server is stateless; use POST).` },
      id: null,
    });
  });
  return router;
}
