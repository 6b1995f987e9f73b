import { Router, type RequestHandler } from 'express';
import type { OAuthEndpoints } from '../../oauth-server/endpoints.js';
import { authorizationServerMetadata, protectedResourceMetadata, type ResourceAuthorization } from '../../oauth-server/metadata.js';
import { publicCors } from '../middleware/cors.js';

/**
 * Discovery: RFC 9728 protected-resource metadata at the root and path-suffixed well-known URIs
 * (MCP clients try `/.well-known/oauth-protected-resource/mcp` first), and RFC 8414
 * authorization-server metadata, also served as `openid-configuration` because some clients
 * probe only that (MCP 2025-11-25 lets clients use either).
 */
export function oauthMetadataRouter(deps: { endpoints: OAuthEndpoints; authorization?: ResourceAuthorization | undefined }): Router {
  const router = Router();
  const cors = publicCors('GET');
  const send = (document: Record<string, unknown>): RequestHandler => (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json(document);
  };
  const resource = send(protectedResourceMetadata(deps.endpoints, deps.authorization));
  const server = send(authorizationServerMetadata(deps.endpoints));

  router.all(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'], cors);
  router.get(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'], resource);
  router.all(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'], cors);
  router.get(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'], server);
  return router;
}
