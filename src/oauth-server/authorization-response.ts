import type { OAuthEndpoints } from './endpoints.js';

/**
 * The redirect back to the client, success or error. `iss` is always added (RFC 9207), so a
 * client talking to several authorization servers can tell which one answered (mix-up attacks),
 * and `state` is echoed exactly as received.
 */
export function authorizationResponseUrl(
  endpoints: OAuthEndpoints,
  redirectUri: string,
  state: string | null,
  result: { code: string } | { error: string; error_description: string },
): string {
  const url = new URL(redirectUri);
  for (const [key, value] of Object.entries(result)) url.searchParams.set(key, value);
  if (state !== null) url.searchParams.set('state', state);
  url.searchParams.set('iss', endpoints.issuer);
  return url.href;
}
