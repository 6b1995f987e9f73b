import type { OAuth2ProviderDefinition } from '../../providers/schema.js';

/**
 * OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, adopted by
 * MCP authorization 2025-11-25): the client_id is an HTTPS URL of ours, and the upstream's
 * authorization server fetches the client's metadata from it. Nothing is registered or stored on
 * either side, so there is nothing to lose or re-register — the preferred way to obtain a client
 * when the upstream says `client_id_metadata_document_supported`. The URL must be HTTPS, so it is
 * used only when PUBLIC_URL is; otherwise RFC 7591 registration is the fallback.
 *
 * One document per provider: each names only that provider's callback, so an upstream learns
 * nothing about the others and a redirect URI of one can never be used with another's client.
 */
export function clientMetadataDocumentUrl(publicUrl: string, providerId: string): string | undefined {
  if (new URL(publicUrl).protocol !== 'https:') return undefined;
  return `${publicUrl}/api/connect/${encodeURIComponent(providerId)}/client-metadata.json`;
}

/** Whether `provider` is a remote MCP server whose client this server obtains (so it may be our document). */
export function servesClientMetadataDocument(provider: OAuth2ProviderDefinition): boolean {
  return provider.mcp !== undefined && !provider.mcp.operatorClient;
}

/** The document itself: a public client (PKCE, no secret), exactly what the connect flow does. No
 * `scope`: which scopes to ask for is decided per request (operator's, else the resource's). */
export function clientMetadataDocument(publicUrl: string, provider: OAuth2ProviderDefinition, redirectUri: string): Record<string, unknown> | undefined {
  const clientId = clientMetadataDocumentUrl(publicUrl, provider.id);
  if (!clientId) return undefined;
  return {
    client_id: clientId,
    client_name: 'mcp-oauth-proxy',
    client_uri: publicUrl,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
}
