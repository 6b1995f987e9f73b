import { z } from 'zod';
import { exchange, type ExchangeResult } from '../outbound/exchange.js';
import { idpAgent } from './http.js';

/** What this server uses from the IdP's metadata (OpenID Connect Discovery 1.0 / RFC 8414). */
export interface IdpMetadata {
  issuer: string;
  jwksUri: string;
  authorizationEndpoint: string | undefined;
  tokenEndpoint: string | undefined;
  introspectionEndpoint: string | undefined;
  /** Every signing algorithm the metadata names for tokens it issues (id tokens, introspection, userinfo). */
  signingAlgorithms: string[];
  tokenAuthMethods: string[] | undefined;
  /** Whether MCP clients can register themselves at the IdP (RFC 7591 or Client ID Metadata Documents). */
  registrationEndpoint: string | undefined;
  clientIdMetadataDocumentSupported: boolean;
}

/** The issuer could not be used; the message names IDP_ISSUER and says why (start-up error). */
export class IdpDiscoveryError extends Error {
  override name = 'IdpDiscoveryError';
}

const Metadata = z.looseObject({
  issuer: z.string(),
  jwks_uri: z.url(),
  authorization_endpoint: z.url().optional(),
  token_endpoint: z.url().optional(),
  introspection_endpoint: z.url().optional(),
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
  introspection_signing_alg_values_supported: z.array(z.string()).optional(),
  userinfo_signing_alg_values_supported: z.array(z.string()).optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  registration_endpoint: z.url().optional(),
  client_id_metadata_document_supported: z.boolean().optional(),
});

const MAX_BYTES = 256 * 1024;

/**
 * Where the metadata may live, in the order tried: OIDC Discovery appends to the issuer
 * (`/realms/x/.well-known/openid-configuration`, Keycloak's shape); RFC 8414 §3 inserts the
 * well-known segment before the issuer's path.
 */
export function metadataUrls(issuer: string): URL[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  return [
    new URL(`${url.origin}${path}/.well-known/openid-configuration`),
    new URL(`${url.origin}/.well-known/oauth-authorization-server${path}`),
  ];
}

/** Fetches and checks the issuer's metadata: its `issuer` must be IDP_ISSUER exactly (OIDC Discovery §4.3, RFC 8414 §3.3). */
export async function discoverIdp(issuer: string, timeoutMs: number): Promise<IdpMetadata> {
  const tried: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let res: ExchangeResult;
    try {
      res = await exchange(idpAgent, { url, method: 'GET', headers: { accept: 'application/json' }, body: undefined }, { timeoutMs, maxBytes: MAX_BYTES });
    } catch (err) {
      tried.push(`${url.href}: ${(err as Error).message}`);
      continue;
    }
    if (res.status !== 200 || res.truncated) {
      tried.push(`${url.href}: HTTP ${res.status}`);
      continue;
    }
    let parsed;
    try {
      parsed = Metadata.safeParse(JSON.parse(res.text));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      tried.push(`${url.href}: not issuer metadata with a jwks_uri`);
      continue;
    }
    const doc = parsed.data;
    if (doc.issuer !== issuer) {
      throw new IdpDiscoveryError(`IDP_ISSUER: the metadata at ${url.href} names the issuer "${doc.issuer}", not "${issuer}" (set IDP_ISSUER to exactly the issuer the IdP states)`);
    }
    return {
      issuer: doc.issuer,
      jwksUri: doc.jwks_uri,
      authorizationEndpoint: doc.authorization_endpoint,
      tokenEndpoint: doc.token_endpoint,
      introspectionEndpoint: doc.introspection_endpoint,
      signingAlgorithms: [
        ...new Set([
          ...(doc.id_token_signing_alg_values_supported ?? []),
          ...(doc.introspection_signing_alg_values_supported ?? []),
          ...(doc.userinfo_signing_alg_values_supported ?? []),
        ]),
      ],
      tokenAuthMethods: doc.token_endpoint_auth_methods_supported,
      registrationEndpoint: doc.registration_endpoint,
      clientIdMetadataDocumentSupported: doc.client_id_metadata_document_supported === true,
    };
  }
  throw new IdpDiscoveryError(`IDP_ISSUER: no usable issuer metadata for ${issuer} (${tried.join('; ')})`);
}
