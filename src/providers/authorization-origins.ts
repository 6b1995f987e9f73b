import type { ProviderRegistry } from './registry.js';
import { hasUpstreamLogin } from './sign-in-providers.js';

/** How long a page waits for a remote MCP server's discovery before it is shown without it. */
const DISCOVERY_WAIT_MS = 2_000;

/**
 * The origins of the OAuth providers' login pages, for a page's CSP `form-action`: that directive
 * also governs the redirect answering a form post, so a "Connect" form that ends at the upstream's
 * login must name its origin. A remote MCP server's authorization server is learned at run time
 * (upstreams/mcp/oauth-discovery.ts) and may live on another origin than `mcp_url`, so this asks
 * the registry for the completed definitions — read per page, never once at start-up. Discovery
 * that is slow or failing costs a page at most DISCOVERY_WAIT_MS; the form then falls back to
 * the `mcp_url` origin, and the next page tries again.
 */
export async function authorizationOrigins(registry: ProviderRegistry, which: 'all' | 'sign-in' = 'all'): Promise<string[]> {
  const remote = registry.providers.filter((p) => p.auth === 'oauth2' && p.mcp);
  if (which === 'all' && remote.length > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(remote.map((p) => registry.ready(p.id))),
      new Promise((resolve) => {
        timer = setTimeout(resolve, DISCOVERY_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }
  // 'sign-in': the providers the consent page offers (hasUpstreamLogin: its sign-in and connect choices).
  const origins = registry.providers.flatMap((p) => (p.auth === 'oauth2' && (which === 'all' || hasUpstreamLogin(p)) ? [new URL(p.authorization_url).origin] : []));
  return [...new Set(origins)];
}
