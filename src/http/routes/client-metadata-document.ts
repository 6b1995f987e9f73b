import { Router } from 'express';
import { redirectUriFor } from '../../connections/connect-flow.js';
import { NotFoundError } from '../../errors.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import { clientMetadataDocument, servesClientMetadataDocument } from '../../upstreams/mcp/client-metadata-document.js';

/** How long an authorization server may cache the document (it only changes with the providers file). */
const MAX_AGE_S = 3600;

/**
 * GET /api/connect/:provider/client-metadata.json — our OAuth client at a remote MCP server's
 * authorization server, as a Client ID Metadata Document (upstreams/mcp/client-metadata-document.ts).
 * Public by design: it holds no secret, and the authorization server fetches it without credentials.
 */
export function clientMetadataDocumentRouter(deps: { registry: ProviderRegistry; publicUrl: string }): Router {
  const router = Router();
  router.get('/api/connect/:provider/client-metadata.json', (req, res) => {
    const provider = deps.registry.provider(req.params.provider);
    const document = provider?.auth === 'oauth2' && servesClientMetadataDocument(provider) ? clientMetadataDocument(deps.publicUrl, provider, redirectUriFor(deps.publicUrl, provider.id)) : undefined;
    if (!document) throw new NotFoundError('No client metadata document is served for this provider.');
    res.set('Cache-Control', `public, max-age=${MAX_AGE_S}`).json(document);
  });
  return router;
}
