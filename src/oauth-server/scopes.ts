/**
 * What an MCP client may be granted: the two tool scopes of API keys (keys/scopes.ts). The
 * `connections` and `keys` scopes are never granted to OAuth clients: those APIs take keys only.
 */
export const OAUTH_SCOPES = ['tools:read', 'tools:write'] as const;
export type OAuthScope = (typeof OAUTH_SCOPES)[number];

/** Granted when the client asks for no scope: what a chat client needs to be useful. */
export const DEFAULT_SCOPES: readonly OAuthScope[] = OAUTH_SCOPES;

/** The consent page's plain words for each scope. */
export const SCOPE_WORDS: Record<OAuthScope, string> = {
  'tools:read': 'See and use read-only tools: read data from your connected accounts',
  'tools:write': 'Use every tool, including ones that create, change or delete data in your connected accounts',
};

export function isOAuthScope(value: string): value is OAuthScope {
  return (OAUTH_SCOPES as readonly string[]).includes(value);
}

/**
 * RFC 6749 §3.3 lets the server ignore requested scopes it does not know (clients send
 * `offline_access`, `openid`, …); only ours are kept. Nothing left means the default.
 */
export function requestedScopes(scope: string | undefined): OAuthScope[] {
  const known = normalize((scope ?? '').split(' ').filter(isOAuthScope));
  return known.length > 0 ? known : [...DEFAULT_SCOPES];
}

/** Sorted, without duplicates, in the order of OAUTH_SCOPES. */
export function normalize(scopes: readonly string[]): OAuthScope[] {
  return OAUTH_SCOPES.filter((s) => scopes.includes(s));
}

export function covers(granted: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every((s) => granted.includes(s));
}
