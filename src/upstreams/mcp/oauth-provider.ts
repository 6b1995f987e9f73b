import type { Cipher } from '../../crypto/cipher.js';
import type { Pool } from '../../db/pool.js';
import type { AddressPolicy } from '../../outbound/address-policy.js';
import type { OAuth2ProviderDefinition } from '../../providers/schema.js';
import { forgetRegistration, registeredClient } from './client-registration.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import { clientMetadataDocumentUrl } from './client-metadata-document.js';
import { discoverAuthorization, DiscoveryError } from './oauth-discovery.js';

export interface McpOAuthDeps {
  pool: Pool;
  cipher: Cipher;
  /** PUBLIC_URL: when HTTPS, our Client ID Metadata Document URL can be the client_id. */
  publicUrl: string;
  /** Where the connect flow comes back: `${PUBLIC_URL}/api/connect/<id>/callback`. */
  redirectUri: (providerId: string) => string;
  timeoutMs: number;
  /** Tests allow loopback metadata on another origin; production leaves the default (public only). */
  addressPolicy?: AddressPolicy;
}

/** An endpoint learned from metadata: on mcp_url's origin, or HTTPS — never plain HTTP elsewhere. */
function checkedEndpoint(url: string, mcpOrigin: string, what: string): string {
  const parsed = new URL(url);
  if (parsed.origin !== mcpOrigin && parsed.protocol !== 'https:') throw new DiscoveryError(`the ${what} ${url} is neither on the MCP server's origin nor HTTPS`);
  return parsed.href;
}

/**
 * The OAuth 2 provider definition of a remote MCP server, built at run time: the discovered
 * endpoints, and the operator's client when the providers file names one, else our registered
 * client. From here on the connect flow, token lifecycle and revocation are the usual ones.
 */
export async function resolveMcpOAuthProvider(provider: OAuth2ProviderDefinition, deps: McpOAuthDeps): Promise<OAuth2ProviderDefinition> {
  const mcp = provider.mcp;
  if (!mcp) return provider;
  const found = await discoverAuthorization(mcp.url, { timeoutMs: deps.timeoutMs, ...(deps.addressPolicy ? { addressPolicy: deps.addressPolicy } : {}) });
  const origin = new URL(mcp.url).origin;
  // MCP authorization "Scope Selection": the operator's scopes, else what the resource says it supports.
  const scopes = provider.scopes.length > 0 ? provider.scopes : (found.resourceScopes ?? []);
  let client = { clientId: provider.client_id, clientSecret: provider.client_secret, tokenAuth: provider.token_auth };
  // The operator's client first; else our metadata document where the server takes one (nothing to
  // register or lose); else RFC 7591 registration, persisted once for every user and instance.
  const documentUrl = found.clientIdMetadataDocuments ? clientMetadataDocumentUrl(deps.publicUrl, provider.id) : undefined;
  if (!provider.client_id && documentUrl) {
    // A public client: PKCE protects the code, and the token request carries only client_id.
    client = { clientId: documentUrl, clientSecret: undefined, tokenAuth: 'client_secret_post' };
  } else if (!provider.client_id) {
    if (!found.registrationEndpoint) throw new DiscoveryError(`${found.issuer} supports no dynamic client registration; set client_id for ${provider.id}`);
    client = await registeredClient(deps.pool, deps.cipher, {
      providerId: provider.id,
      issuer: found.issuer,
      registrationEndpoint: checkedEndpoint(found.registrationEndpoint, origin, 'registration endpoint'),
      redirectUri: deps.redirectUri(provider.id),
      clientName: 'mcp-oauth-proxy',
      scopes,
      timeoutMs: deps.timeoutMs,
    });
  }
  return {
    ...provider,
    mcp: { ...mcp, registeredClient: !provider.client_id && !documentUrl, metadataDocumentClient: !provider.client_id && documentUrl !== undefined },
    authorization_url: checkedEndpoint(found.authorizationEndpoint, origin, 'authorization endpoint'),
    token_url: checkedEndpoint(found.tokenEndpoint, origin, 'token endpoint'),
    revocation_url: found.revocationEndpoint ? checkedEndpoint(found.revocationEndpoint, origin, 'revocation endpoint') : undefined,
    scopes,
    client_id: client.clientId,
    client_secret: client.clientSecret,
    token_auth: client.tokenAuth,
  };
}

/**
 * The authorization server no longer knows the client we registered (RFC 6749 §5.2
 * `invalid_client`): forget it here and everywhere (the stored row), so the next use registers
 * again. The user then reconnects, as after any lost grant. True when it was such a case.
 */
export async function forgetRejectedClient(pool: Pool, registry: ProviderRegistry, providerId: string, err: unknown): Promise<boolean> {
  const provider = registry.provider(providerId);
  if (provider?.auth !== 'oauth2' || !provider.mcp?.registeredClient) return false;
  if (!(err instanceof Error) || !/invalid_client/.test(err.message)) return false;
  await forgetRegistration(pool, providerId, provider.client_id);
  registry.invalidate(providerId);
  return true;
}
