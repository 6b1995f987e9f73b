import type { IdpSettings } from '../idp/settings.js';
import type { OAuthEndpoints } from './endpoints.js';
import { OAUTH_SCOPES } from './scopes.js';

/**
 * The scopes a client should ask for: this server's tool scopes, or — with the organisation's IdP
 * and IDP_SCOPE_MAP — the IdP's names that map to them (the IdP would refuse ours).
 */
export function advertisedScopes(idp: Pick<IdpSettings, 'scopeMap'> | undefined): string[] {
  return idp && idp.scopeMap.size > 0 ? [...idp.scopeMap.keys()] : [...OAUTH_SCOPES];
}

/**
 * RFC 9728 §2: what /mcp is and who issues tokens for it. With IDP_ISSUER the IdP comes first
 * (MCP clients use the first entry), so ChatGPT or Claude.ai sign in there directly; this
 * server's own authorization server stays listed for clients that want it.
 */
export function protectedResourceMetadata(endpoints: OAuthEndpoints, idp?: Pick<IdpSettings, 'issuer' | 'scopeMap'>): Record<string, unknown> {
  return {
    resource: endpoints.resource,
    authorization_servers: idp ? [idp.issuer, endpoints.issuer] : [endpoints.issuer],
    scopes_supported: advertisedScopes(idp),
    bearer_methods_supported: ['header'],
    resource_name: 'mcp-oauth-proxy',
  };
}

const CLIENT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'];

/** RFC 8414 §2 (plus RFC 9207 and the Client ID Metadata Document flag MCP clients look for). */
export function authorizationServerMetadata(endpoints: OAuthEndpoints): Record<string, unknown> {
  return {
    issuer: endpoints.issuer,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    registration_endpoint: endpoints.registration,
    revocation_endpoint: endpoints.revocation,
    scopes_supported: [...OAUTH_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    client_id_metadata_document_supported: true,
    authorization_response_iss_parameter_supported: true,
    resource_indicators_supported: true,
  };
}
