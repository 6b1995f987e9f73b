import { Router, type RequestHandler } from 'express';
import type { OAuthEndpoints } from '../../oauth-server/endpoints.js';
import { authorizationServerMetadata, protectedResourceMetadata, type ResourceAuthorization } from '../../oauth-server/metadata.js';
import { publicCors } from '../middleware/cors.js';

/**
 * Discovery: RFC 9728 protected-resource metadata at the root and path-suffixed well-known URIs
 * (MCP clients try `/.well-known/oauth-protected-resource/mcp` first), and RFC 8414
 * authorization-server metadata. No `openid-configuration`: this server issues no id_tokens, and
 * an OIDC Discovery document without `jwks_uri` and the other §3 fields is invalid. MCP clients
 * (the SDK, mcp-remote) try RFC 8414 first and use OIDC discovery only when that is missing.
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
  router.all('/.well-known/oauth-authorization-server', cors);
  router.get('/.well-known/oauth-authorization-server', server);
  return router;
}
