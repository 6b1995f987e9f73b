import { z } from 'zod';
import { tokenEndpointAgent } from '../outbound/agents.js';
import { exchange, headerValue, upstreamTimedOut, type ExchangeResult } from '../outbound/exchange.js';
import { DEFAULT_UPSTREAM_LIMITS } from '../outbound/limits.js';
import { retryAfterSeconds } from '../outbound/retry-after.js';
import type { OAuth2ProviderDefinition } from '../providers/schema.js';

/**
 * The OAuth 2 client side of a provider: authorization URL, code exchange (RFC 6749 §4.1),
 * refresh (§6) and revocation (RFC 7009).
 */

/** A token response is a few kilobytes; anything far larger is not one, and is not read whole. */
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
/** Only the status of a revocation answer matters; its body is not kept. */
const MAX_REVOCATION_RESPONSE_BYTES = 4 * 1024;

export interface TokenSet {
  accessToken: string;
  /** undefined: the upstream did not send one (on refresh: keep the old one). */
  refreshToken: string | undefined;
  /**
   * When the request was sent. The upstream started the token's clock after this, so a lifetime
   * counted from here ends a little early, never late.
   */
  issuedAt: Date;
  /** null: the token does not expire (or the upstream did not say). */
  expiresAt: Date | null;
  scopes: string[] | undefined;
  accountId: string | null;
}

/**
 * Why a token request failed. `invalid_grant` means the grant (code or refresh token) is dead
 * and only a new login helps; `transient` (network, timeout, 5xx, 429) is worth retrying and
 * must never cost the user their connection; `rejected` is any other refusal.
 */
export class TokenRequestError extends Error {
  constructor(
    readonly kind: 'invalid_grant' | 'transient' | 'rejected',
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

const TokenResponse = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  // Some upstreams send numbers as strings, or null for "never expires" (OwnerRez's "None" policy).
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number), z.null()]).optional(),
  refresh_token: z.string().min(1).optional().nullable(),
  scope: z.string().optional(),
  id_token: z.string().optional(),
});

export function buildAuthorizationUrl(
  provider: OAuth2ProviderDefinition,
  p: { redirectUri: string; state: string; codeChallenge: string | undefined },
): string {
  const url = new URL(provider.authorization_url);
  const params: Record<string, string> = {
    ...provider.authorization_params,
    response_type: 'code',
    client_id: provider.client_id,
    redirect_uri: p.redirectUri,
    state: p.state,
  };
  if (provider.scopes.length > 0) params.scope = provider.scopes.join(provider.scope_separator);
  if (p.codeChallenge) Object.assign(params, { code_challenge: p.codeChallenge, code_challenge_method: 'S256' });
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

export function exchangeCode(
  provider: OAuth2ProviderDefinition,
  p: { code: string; redirectUri: string; codeVerifier: string | undefined },
  timeoutMs: number = DEFAULT_UPSTREAM_LIMITS.tokenTimeoutMs,
): Promise<TokenSet> {
  const body: Record<string, string> = { grant_type: 'authorization_code', code: p.code, redirect_uri: p.redirectUri };
  if (p.codeVerifier) body.code_verifier = p.codeVerifier;
  return tokenRequest(provider, body, timeoutMs);
}

/** RFC 6749 §6. No `scope` is sent, which asks for the scopes originally granted. */
export function refreshTokens(
  provider: OAuth2ProviderDefinition,
  refreshToken: string,
  timeoutMs: number = DEFAULT_UPSTREAM_LIMITS.tokenTimeoutMs,
): Promise<TokenSet> {
  return tokenRequest(provider, { grant_type: 'refresh_token', refresh_token: refreshToken }, timeoutMs);
}

/**
 * Revokes a token at the upstream. Returns false when the provider has no revocation endpoint.
 * A 404 from a `{token}`-in-path endpoint means the token is already gone, which is success.
 */
export async function revokeToken(
  provider: OAuth2ProviderDefinition,
  token: string,
  hint: 'access_token' | 'refresh_token',
  timeoutMs: number = DEFAULT_UPSTREAM_LIMITS.tokenTimeoutMs,
): Promise<boolean> {
  if (!provider.revocation_url) return false;
  const inPath = provider.revocation_url.includes('{token}');
  const url = inPath ? provider.revocation_url.replace('{token}', encodeURIComponent(token)) : provider.revocation_url;
  const form: Record<string, string> = inPath ? {} : { token, token_type_hint: hint };
  const { headers, body } = clientAuthenticated(provider, form);
  const response = await send(
    url,
    { method: provider.revocation_method, headers, body: inPath && provider.revocation_method === 'DELETE' ? undefined : body.toString() },
    { timeoutMs, maxBytes: MAX_REVOCATION_RESPONSE_BYTES },
    'revocation endpoint',
  );
  if (ok(response) || (inPath && response.status === 404)) return true;
  throw new TokenRequestError(response.status >= 500 ? 'transient' : 'rejected', `revocation endpoint answered HTTP ${response.status}`);
}

async function tokenRequest(provider: OAuth2ProviderDefinition, form: Record<string, string>, timeoutMs: number): Promise<TokenSet> {
  // RFC 8707 §2.2 and MCP authorization: a token for a remote MCP server names it again at the
  // token endpoint (code and refresh alike), so servers that bind the audience there get it too.
  const { headers, body } = clientAuthenticated(provider, provider.mcp ? { ...form, resource: provider.mcp.url } : form);
  const issuedAt = new Date();
  // The timeout also covers the body; a connection dropped mid-answer is as transient as one refused.
  const response = await send(provider.token_url, { method: 'POST', headers, body: body.toString() }, { timeoutMs, maxBytes: MAX_TOKEN_RESPONSE_BYTES });
  const text = response.text;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const error = typeof (json as { error?: unknown })?.error === 'string' ? (json as { error: string }).error : undefined;
  // Some upstreams (GitHub) report errors with HTTP 200 and an `error` field.
  if (!ok(response) || error !== undefined) {
    const description = (json as { error_description?: unknown })?.error_description;
    const detail = `${error ?? `HTTP ${response.status}`}${typeof description === 'string' ? `: ${description.slice(0, 200)}` : ''}`;
    const kind = classifyTokenError(response.status, error);
    if (kind === 'transient') {
      throw new TokenRequestError(kind, `token endpoint unavailable (${detail})`, retryAfterSeconds(headerValue(response.headers, 'retry-after')));
    }
    throw new TokenRequestError(kind, `token endpoint refused the request (${detail})`);
  }
  const parsed = TokenResponse.safeParse(tokenSetIn(provider, json));
  if (!parsed.success) throw new TokenRequestError('rejected', 'token endpoint returned no usable access_token');
  const t = parsed.data;
  // RFC 6749 §5.1: `scope` may be left out when it equals what was requested; an empty one says as little.
  const scopes = t.scope?.split(/[ ,]+/).filter(Boolean);
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token ?? undefined,
    issuedAt,
    expiresAt: typeof t.expires_in === 'number' && t.expires_in > 0 ? new Date(issuedAt.getTime() + t.expires_in * 1000) : null,
    scopes: scopes?.length ? scopes : undefined,
    accountId: accountIdOf(provider, { ...t, ...(json as Record<string, unknown>) }),
  };
}

/** The object of the response that holds the token set: `token_response_path`'s when it has one, else the top. */
function tokenSetIn(provider: OAuth2ProviderDefinition, json: unknown): unknown {
  if (!provider.token_response_path) return json;
  const nested = fieldAt(json, provider.token_response_path);
  return typeof (nested as { access_token?: unknown } | undefined)?.access_token === 'string' ? nested : json;
}

function fieldAt(node: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((at, key) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined), node);
}

/**
 * What a failed token request means for the connection. Only a dead grant (RFC 6749 §5.2
 * `invalid_grant`; GitHub says `bad_refresh_token`) costs the user their connection; an upstream
 * that is down, slow or busy (5xx, 408, 429, or the §4.1.2.1 codes `server_error` and
 * `temporarily_unavailable`, which some token endpoints send) is worth retrying.
 */
export function classifyTokenError(status: number, error: string | undefined): TokenRequestError['kind'] {
  if (status >= 500 || status === 408 || status === 429 || error === 'server_error' || error === 'temporarily_unavailable') return 'transient';
  // GitHub says `bad_refresh_token`, Slack `invalid_refresh_token`.
  if (error === 'invalid_grant' || error === 'bad_refresh_token' || error === 'invalid_refresh_token') return 'invalid_grant';
  return 'rejected';
}

function accountIdOf(provider: OAuth2ProviderDefinition, response: Record<string, unknown>): string | null {
  if (provider.account_id_field) {
    const value = fieldAt(response, provider.account_id_field);
    if (typeof value === 'string' || typeof value === 'number') return String(value);
  }
  if (typeof response.id_token === 'string') {
    // OIDC Core §3.1.3.7: an id_token received directly from the token endpoint over TLS
    // may be trusted without verifying its signature; we only read `sub` as a label.
    try {
      const payload = JSON.parse(Buffer.from(response.id_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
      if (typeof payload.sub === 'string') return payload.sub;
    } catch {
      return null;
    }
  }
  return null;
}

/** RFC 6749 §2.3.1: Basic credentials are the form-urlencoded id and secret. */
function clientAuthenticated(provider: OAuth2ProviderDefinition, form: Record<string, string>): { headers: Record<string, string>; body: URLSearchParams } {
  // Some token endpoints refuse requests without a User-Agent; fetch used to send "node".
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': provider.user_agent ?? 'mcp-oauth-proxy' };
  const body = new URLSearchParams(form);
  if (provider.token_auth === 'client_secret_basic' && provider.client_secret) {
    const credentials = `${formEncode(provider.client_id)}:${formEncode(provider.client_secret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  } else {
    body.set('client_id', provider.client_id);
    if (provider.client_secret) body.set('client_secret', provider.client_secret);
  }
  return { headers, body };
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

function ok(response: ExchangeResult): boolean {
  return response.status >= 200 && response.status < 300;
}

/**
 * One request to a token or revocation endpoint over the shared outbound exchange. A redirect
 * counts as "could not be reached" (it may not be followed: it would carry the client secret
 * elsewhere), as fetch's `redirect: 'error'` reported it.
 */
async function send(
  url: string,
  request: { method: 'POST' | 'DELETE'; headers: Record<string, string>; body: string | undefined },
  bounds: { timeoutMs: number; maxBytes: number },
  endpoint = 'token endpoint',
): Promise<ExchangeResult> {
  let response: ExchangeResult;
  try {
    response = await exchange(tokenEndpointAgent, { url: new URL(url), ...request }, bounds);
  } catch (err) {
    const reason = upstreamTimedOut(err) ? `did not answer within ${bounds.timeoutMs / 1000} s` : 'could not be reached';
    throw new TokenRequestError('transient', `${endpoint} ${reason}`);
  }
  if (response.status >= 300 && response.status < 400) throw new TokenRequestError('transient', `${endpoint} could not be reached`);
  return response;
}
