import { isOurResource, type OAuthEndpoints } from './endpoints.js';
import { ClientMetadataError, type ClientDirectory, type OAuthClient } from './clients.js';
import { AuthorizationPageError, AuthorizationRedirectError } from './errors.js';
import { redirectUriMatches } from './redirect-uris.js';
import { requestedScopes, type OAuthScope } from './scopes.js';
import { PKCE_VALUE } from '../crypto/secrets.js';

/** A syntactically and semantically valid authorization request (OAuth 2.1 §4.1.1). */
export interface AuthorizationRequest {
  client: OAuthClient;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  /** The canonical resource (`${PUBLIC_URL}/mcp`), whatever spelling the client sent. */
  resource: string;
  scopes: OAuthScope[];
  prompt: 'none' | 'login' | 'consent' | undefined;
}

/** What the request names before anything is trusted: enough to redirect an error, if that is safe. */
export interface RedirectTarget {
  redirectUri: string;
  state: string | null;
}

const MAX_STATE = 2048;

/**
 * Validates GET /oauth/authorize. The client and its redirect URI are checked first: until both
 * are known good, errors are AuthorizationPageErrors (shown, never redirected — RFC 6749
 * §4.1.2.1); after that, AuthorizationRedirectErrors carrying where to send them.
 */
export async function validateAuthorizationRequest(
  clients: ClientDirectory,
  endpoints: OAuthEndpoints,
  query: Record<string, unknown>,
): Promise<AuthorizationRequest> {
  const clientId = single(query, 'client_id');
  if (clientId === undefined || clientId === null || clientId === '') {
    throw new AuthorizationPageError(400, 'Unknown application', 'The sign-in link has no valid client_id. Start again from your AI client.');
  }
  let client: OAuthClient | undefined;
  try {
    client = await clients.find(clientId);
  } catch (err) {
    if (err instanceof ClientMetadataError) throw new AuthorizationPageError(400, 'Unknown application', err.message);
    throw err;
  }
  if (!client) throw new AuthorizationPageError(400, 'Unknown application', 'This application is not registered with this server. Start again from your AI client.');

  const redirectUri = single(query, 'redirect_uri');
  if (!redirectUri) throw new AuthorizationPageError(400, 'Invalid sign-in link', 'The sign-in link has no valid redirect_uri.');
  if (!redirectUriMatches(client.redirectUris, redirectUri)) {
    throw new AuthorizationPageError(400, 'Invalid sign-in link', 'The redirect_uri is not one this application registered, so this server will not send you there.');
  }
  const stateValue = single(query, 'state');
  const target: RedirectTarget = { redirectUri, state: typeof stateValue === 'string' ? stateValue.slice(0, MAX_STATE) : null };
  const fail = (code: AuthorizationRedirectError['code'], description: string): never => {
    throw new AuthorizationRedirectError(code, description, target);
  };

  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) fail('invalid_request', `The ${key} parameter is repeated.`);
  }
  if (typeof stateValue === 'string' && stateValue.length > MAX_STATE) fail('invalid_request', `state is longer than ${MAX_STATE} characters.`);
  if (query.response_type !== 'code') fail('unsupported_response_type', 'Only response_type=code is supported.');
  if (!client.grantTypes.includes('authorization_code')) fail('invalid_request', 'This client did not register the authorization_code grant.');

  const challenge = query.code_challenge;
  if (typeof challenge !== 'string' || challenge === '') fail('invalid_request', 'PKCE is required: send code_challenge and code_challenge_method=S256.');
  if (query.code_challenge_method !== 'S256') fail('invalid_request', 'Only code_challenge_method=S256 is supported (plain is refused).');
  if (!PKCE_VALUE.test(challenge as string)) fail('invalid_request', 'code_challenge is malformed.');

  const resource = query.resource;
  if (typeof resource !== 'string' || resource === '') fail('invalid_target', `resource is required: send resource=${endpoints.resource}.`);
  if (!isOurResource(endpoints, resource as string)) fail('invalid_target', `Tokens are issued only for ${endpoints.resource}.`);

  const prompt = query.prompt;
  if (prompt !== undefined && !['none', 'login', 'consent'].includes(String(prompt))) fail('invalid_request', 'prompt must be none, login or consent.');

  return {
    client,
    ...target,
    codeChallenge: challenge as string,
    resource: endpoints.resource,
    scopes: requestedScopes(typeof query.scope === 'string' ? query.scope : undefined),
    prompt: prompt as AuthorizationRequest['prompt'],
  };
}

function single(query: Record<string, unknown>, key: string): string | null | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : null;
}
