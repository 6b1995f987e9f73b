import type { Queryable } from '../db/pool.js';
import { ClientMetadataError, looksLikeMetadataUrl, type ClientMetadataResolver } from './client-metadata-documents.js';
import { findClient, findClientCredentials, type TokenEndpointAuthMethod } from './client-store.js';
import { InvalidClientError } from './errors.js';
import { sameHash, sha256 } from '../crypto/secrets.js';

/** A client as the authorization server sees it, wherever it was registered. */
export interface OAuthClient {
  clientId: string;
  clientName: string | null;
  redirectUris: string[];
  grantTypes: string[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** `metadata_document`: the client_id is an https URL naming its metadata (never stored here). */
  kind: 'registered' | 'metadata_document';
}

export interface ClientDirectory {
  /** The client, or undefined when unknown; a metadata document that cannot be used throws ClientMetadataError. */
  find(clientId: string): Promise<OAuthClient | undefined>;
}

export function createClientDirectory(db: Queryable, documents: ClientMetadataResolver): ClientDirectory {
  return {
    async find(clientId) {
      if (looksLikeMetadataUrl(clientId)) {
        const doc = await documents.resolve(clientId);
        return { ...doc, tokenEndpointAuthMethod: 'none', kind: 'metadata_document' };
      }
      if (clientId.length > 200) return undefined;
      const stored = await findClient(db, clientId);
      return stored
        ? {
            clientId: stored.clientId,
            clientName: stored.clientName,
            redirectUris: stored.redirectUris,
            grantTypes: stored.grantTypes,
            tokenEndpointAuthMethod: stored.tokenEndpointAuthMethod,
            kind: 'registered',
          }
        : undefined;
    },
  };
}

/** What a token or revocation request presented to identify its client. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string | undefined;
}

/**
 * RFC 6749 §2.3.1: HTTP Basic (form-urlencoded id and secret) or `client_id`/`client_secret` in
 * the body — never both (§2.3: one method per request).
 */
export function presentedCredentials(authorization: string | undefined, body: Record<string, unknown>): ClientCredentials {
  const bodyId = typeof body.client_id === 'string' ? body.client_id : undefined;
  const bodySecret = typeof body.client_secret === 'string' ? body.client_secret : undefined;
  const basic = authorization ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization) : null;
  if (authorization && !basic) throw new InvalidClientError('Unsupported Authorization header; use HTTP Basic client authentication or none.');
  if (basic) {
    if (bodySecret !== undefined) throw new InvalidClientError('Use one client authentication method per request, not two.');
    const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new InvalidClientError('Malformed HTTP Basic credentials.');
    const clientId = formDecode(decoded.slice(0, colon));
    if (bodyId !== undefined && bodyId !== clientId) throw new InvalidClientError('client_id does not match the authenticated client.');
    return { clientId, clientSecret: formDecode(decoded.slice(colon + 1)) };
  }
  if (!bodyId) throw new InvalidClientError('client_id is required.');
  return { clientId: bodyId, clientSecret: bodySecret };
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new InvalidClientError('Malformed HTTP Basic credentials.');
  }
}

/**
 * Authenticates the client of a token or revocation request. A public client (`none`) proves
 * nothing here — PKCE and the code's binding to its client_id do that; a confidential client must
 * present its secret, by either secret method (both prove the same thing). Metadata-document
 * clients are never fetched here: they are public, and the code or token names them already.
 */
export async function authenticateClient(db: Queryable, credentials: ClientCredentials): Promise<AuthenticatedClient> {
  const { clientId, clientSecret } = credentials;
  if (looksLikeMetadataUrl(clientId)) {
    if (clientSecret !== undefined) throw new InvalidClientError('Metadata-document clients are public and have no secret.');
    return { clientId, mayRefresh: true };
  }
  const stored = clientId.length <= 200 ? await findClientCredentials(db, clientId) : undefined;
  if (!stored) throw new InvalidClientError('Unknown client.');
  const mayRefresh = stored.grantTypes.includes('refresh_token');
  if (stored.secretHash === null) {
    if (clientSecret !== undefined) throw new InvalidClientError('This client is registered as public (token_endpoint_auth_method none) and has no secret.');
    return { clientId, mayRefresh };
  }
  if (clientSecret === undefined || !sameHash(stored.secretHash, sha256(clientSecret))) throw new InvalidClientError('Client authentication failed.');
  return { clientId, mayRefresh };
}

export interface AuthenticatedClient {
  clientId: string;
  /** Whether the client registered the refresh_token grant (metadata-document clients: unless their document says otherwise, which is not re-fetched here). */
  mayRefresh: boolean;
}

export { ClientMetadataError };
