import { discoverIdp, IdpDiscoveryError, type IdpMetadata } from './discovery.js';
import { IDP_TIMEOUT_MS } from './http.js';
import type { IdpSettings } from './settings.js';
import { loadSigningKeys, type SigningKeys } from './signing-keys.js';

/** The organisation's identity provider, ready to verify tokens: settings, discovered metadata and its keys. */
export interface Idp {
  settings: IdpSettings;
  metadata: IdpMetadata;
  keys: SigningKeys;
}

/**
 * Runs at start-up (main.ts): an issuer that cannot be reached, whose metadata names another
 * issuer, or whose JWKS cannot be read stops the server with an error naming IDP_ISSUER —
 * better than a server that refuses every IdP token with 401.
 */
export async function connectIdp(settings: IdpSettings): Promise<Idp> {
  const metadata = await discoverIdp(settings.issuer, IDP_TIMEOUT_MS);
  let keys: SigningKeys;
  try {
    keys = await loadSigningKeys(metadata.jwksUri, metadata.signingAlgorithms);
  } catch (err) {
    throw new IdpDiscoveryError(`IDP_ISSUER: the JWKS at ${metadata.jwksUri} could not be read (${(err as Error).message})`);
  }
  if (keys.algorithms().length === 0) {
    throw new IdpDiscoveryError(`IDP_ISSUER: the JWKS at ${metadata.jwksUri} holds no asymmetric signing key`);
  }
  if (settings.client && !metadata.authorizationEndpoint) {
    throw new IdpDiscoveryError('IDP_CLIENT_ID: the issuer metadata names no authorization_endpoint, so signing in through the IdP cannot work');
  }
  return { settings, metadata, keys };
}

/**
 * The protected-resource metadata's authorization servers with an IdP. An IdP that lets MCP
 * clients register themselves (RFC 7591, or Client ID Metadata Documents) comes first, so
 * ChatGPT or Claude.ai sign in there directly and ask for the IdP's scope names. One that does
 * not (Entra ID, Google) would strand a DCR-only client, so this server's own authorization
 * server comes first — its consent page signs people in through the IdP — and the IdP second.
 */
export function resourceAuthorization(idp: Idp, ownIssuer: string, ownScopes: readonly string[]): { servers: string[]; scopes: string[] } {
  if (!clientsRegisterAtIdp(idp)) return { servers: [ownIssuer, idp.settings.issuer], scopes: [...ownScopes] };
  const scopes = idp.settings.scopeMap.size > 0 ? [...idp.settings.scopeMap.keys()] : [...ownScopes];
  return { servers: [idp.settings.issuer, ownIssuer], scopes };
}

export function clientsRegisterAtIdp(idp: Idp): boolean {
  return idp.metadata.registrationEndpoint !== undefined || idp.metadata.clientIdMetadataDocumentSupported;
}
