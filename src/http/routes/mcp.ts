import { Router, type RequestHandler } from 'express';
import { ForbiddenError } from '../../errors.js';
import { canUseTools } from '../../mcp/tool-access.js';
import type { McpHandler } from '../../mcp/mcp-server.js';
import { callerOf } from '../middleware/authenticate.js';
import { dnsRebindingGuard } from '../middleware/dns-rebinding.js';

/** `/mcp`: streamable HTTP, stateless. Host/Origin are checked before the key, so a rebinding page learns nothing. */
export function mcpRouter(deps: { mcp: McpHandler; publicUrl: string; authenticate: RequestHandler }): Router {
  const router = Router();
  const guard = dnsRebindingGuard(deps.publicUrl);
  const toolScope: RequestHandler = (_req, res, next) => {
    if (!canUseTools(callerOf(res).scopes)) throw new ForbiddenError('This API key lacks the "tools:read" or "tools:write" scope.', 'insufficient_scope');
    next();
  };

  router.post('/mcp', guard, deps.authenticate, toolScope, async (req, res) => {
    await deps.mcp.handle(req, res, callerOf(res), req.body);
  });

  // Stateless server: no standalone SSE stream to GET and no session to DELETE
  // (MCP 2025-11-25 transports: 405 is the specified answer for both).
  router.all('/mcp', guard, deps.authenticate, (req, res) => {
    res.status(405).set('Allow', 'POST').json({
      jsonrpc: '2.0',
      error: { code: -32000, message: `Method not allowed: ${req.method} /mcp (this server is stateless; use POST).` },
      id: null,
    });
  });
  return router;
}
