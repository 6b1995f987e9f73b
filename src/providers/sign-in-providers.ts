import type { OAuth2ProviderDefinition, ProviderDefinition } from './schema.js';

/**
 * An upstream a person can log in to in the browser: an OAuth 2 provider with its own login.
 * A remote MCP server's OAuth (mcp_url) is for connecting only: it names no account.
 */
export function hasUpstreamLogin(provider: ProviderDefinition): provider is OAuth2ProviderDefinition {
  return provider.auth === 'oauth2' && !provider.mcp;
}

/** The built-in demo upstream (src/demo/) lets anybody log in as any name: it connects, it never signs in. */
function isDemo(provider: ProviderDefinition): boolean {
  return provider.auth === 'oauth2' && provider.demo === true;
}

/**
 * Whether a login at this upstream says which account logged in, so that it can sign a person in
 * here ("Sign in with …") and not only connect the account of someone already signed in: the
 * token response names it (`account_id_field`), the upstream is asked for an OpenID Connect
 * id_token (the `openid` scope), whose `sub` names it, or the provider says how to ask the
 * upstream afterwards (`account`: a request on the API or a userinfo endpoint).
 */
export function namesAccount(provider: ProviderDefinition): boolean {
  if (!hasUpstreamLogin(provider) || isDemo(provider)) return false;
  // `account` (an account lookup after the token exchange) is being added in providers/schema.ts.
  const lookup = 'account' in provider ? provider.account : undefined;
  return provider.account_id_field !== undefined || provider.scopes.includes('openid') || lookup !== undefined;
}

/** The providers offered for signing in, in the providers file's order. */
export function signInProviders(providers: readonly ProviderDefinition[]): OAuth2ProviderDefinition[] {
  return providers.filter(hasUpstreamLogin).filter(namesAccount);
}

/**
 * Start-up warnings for OAuth providers that can connect accounts but not sign anyone in, each
 * saying what to add. Without this, such a provider would offer "Sign in with …" buttons that
 * fail only after the person has logged in upstream.
 */
export function signInWarnings(providers: readonly ProviderDefinition[]): string[] {
  return providers
    .filter(hasUpstreamLogin)
    .filter((p) => !isDemo(p) && !namesAccount(p))
    .map(
      (p) =>
        `provider "${p.id}" is not offered for signing in, only for connecting an account once signed in: ` +
        `its login does not say which account logged in. Add "account_id_field" (the token-response field that ` +
        `holds the account id, e.g. "user_id"), or add "openid" to "scopes" if the upstream is an OpenID Connect provider (docs/providers.md)`,
    );
}
