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
