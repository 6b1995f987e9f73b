/**
 * The URLs this server publishes as an authorization server and protected resource, all
 * derived from PUBLIC_URL (which config.ts stores without a trailing slash).
 */
export interface OAuthEndpoints {
  /** RFC 8414 issuer, and the `iss` of every authorization response (RFC 9207). */
  issuer: string;
  /** The protected resource (RFC 8707 / RFC 9728): tokens are bound to exactly this. */
  resource: string;
  resourceMetadata: string;
  authorization: string;
  token: string;
  registration: string;
  revocation: string;
}

export function oauthEndpoints(publicUrl: string): OAuthEndpoints {
  return {
    issuer: publicUrl,
    resource: `${publicUrl}/mcp`,
    resourceMetadata: `${publicUrl}/.well-known/oauth-protected-resource/mcp`,
    authorization: `${publicUrl}/oauth/authorize`,
    token: `${publicUrl}/oauth/token`,
    registration: `${publicUrl}/oauth/register`,
    revocation: `${publicUrl}/oauth/revoke`,
  };
}

/**
 * Whether a `resource` parameter names our /mcp endpoint. Scheme and host compare
 * case-insensitively (MCP 2025-11-25 "Canonical Server URI" asks servers to accept upper case),
 * and a single trailing slash is tolerated because some clients add one; query and fragment
 * are refused (RFC 8707 §2 forbids a fragment). Tokens always record the canonical form.
 */
export function isOurResource(endpoints: OAuthEndpoints, value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.search !== '' || url.hash !== '' || value.includes('#') || url.username !== '' || url.password !== '') return false;
  const ours = new URL(endpoints.resource);
  const path = url.pathname.endsWith('/') && url.pathname !== '/' ? url.pathname.slice(0, -1) : url.pathname;
  return url.origin === ours.origin && path === ours.pathname;
}
