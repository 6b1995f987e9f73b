import { upstreamApiAgent } from '../outbound/agents.js';
import { exchange, upstreamTimedOut } from '../outbound/exchange.js';
import type { OAuth2ProviderDefinition } from '../providers/schema.js';

/** Which upstream account a token belongs to. */
export interface UpstreamAccount {
  id: string;
  /** For people: GitHub's `login`, OIDC's `preferred_username`; null when the upstream gives none. */
  name: string | null;
}

/** Why the upstream could not say which account the token is for; the message is safe to show. */
export class AccountLookupError extends Error {
  override name = 'AccountLookupError';
}

/** A user object is small; a huge answer is not one. */
const MAX_ACCOUNT_RESPONSE_BYTES = 256 * 1024;

/**
 * Asks the upstream who the new token's account is (a provider's `account` option): a request on
 * `api_base_url` (GitHub's `GET /user`) or the OpenID Connect userinfo endpoint (OIDC Core §5.3),
 * with the token as a Bearer credential. Redirects are not followed: one could carry the token
 * elsewhere. Only called for providers that have `account`.
 */
export async function lookUpAccount(provider: OAuth2ProviderDefinition, accessToken: string, timeoutMs: number): Promise<UpstreamAccount> {
  const lookup = provider.account;
  if (!lookup) throw new AccountLookupError(`${provider.name} has no account lookup`);
  const url = lookup.request ? onApiBase(provider.api_base_url, lookup.request.path) : new URL(lookup.userinfo_url as string);
  const idField = lookup.id ?? (lookup.request ? 'id' : 'sub');
  const nameField = lookup.name ?? (lookup.request ? undefined : 'preferred_username');
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...provider.headers,
    authorization: `Bearer ${accessToken}`,
    'user-agent': provider.user_agent ?? 'mcp-oauth-proxy',
  };
  let response;
  try {
    response = await exchange(upstreamApiAgent, { url, method: lookup.request?.method ?? 'GET', headers, body: undefined }, { timeoutMs, maxBytes: MAX_ACCOUNT_RESPONSE_BYTES });
  } catch (err) {
    throw new AccountLookupError(`${url.pathname} ${upstreamTimedOut(err) ? `did not answer within ${timeoutMs / 1000} s` : 'could not be reached'}`);
  }
  if (response.status < 200 || response.status >= 300) throw new AccountLookupError(`${url.pathname} answered HTTP ${response.status}`);
  let body: unknown;
  try {
    body = response.truncated ? undefined : JSON.parse(response.text);
  } catch {
    body = undefined;
  }
  const id = scalarAt(body, idField);
  if (id === undefined) throw new AccountLookupError(`${url.pathname} answered without a "${idField}" field`);
  return { id, name: nameField ? (scalarAt(body, nameField) ?? null) : null };
}

/** The fixed lookup path under `api_base_url`, as a tool's path is joined (upstreams/rest/build-request.ts). */
function onApiBase(apiBaseUrl: string, path: string): URL {
  const base = new URL(apiBaseUrl);
  return new URL(`${base.origin}${base.pathname.replace(/\/+$/, '')}${path}`);
}

/** A string or number at a dotted path (`data.user.id`), as text; account ids are labels, not numbers. */
export function scalarAt(node: unknown, dotted: string): string | undefined {
  const value = dotted.split('.').reduce<unknown>((n, key) => (n && typeof n === 'object' ? (n as Record<string, unknown>)[key] : undefined), node);
  if (typeof value === 'string' && value !== '') return value.slice(0, 200);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
