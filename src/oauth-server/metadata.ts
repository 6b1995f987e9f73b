import type { OAuthEndpoints } from './endpoints.js';
import { OAUTH_SCOPES } from './scopes.js';

/** Who issues tokens for /mcp, in the order clients should try, and the scopes to ask them for. */
export interface ResourceAuthorization {
  servers: string[];
  scopes: string[];
}

/** RFC 9728 §2: what /mcp is and who issues tokens for it (by default, only this server). */
export function protectedResourceMetadata(endpoints: OAuthEndpoints, authorization?: ResourceAuthorization): Record<string, unknown> {
  return {
    resource: endpoints.resource,
    authorization_servers: authorization?.servers ?? [endpoints.issuer],
    scopes_supported: authorization?.scopes ?? [...OAUTH_SCOPES],
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
