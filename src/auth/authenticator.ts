import type { IncomingHttpHeaders } from 'node:http';
import { UnauthorizedError } from '../errors.js';
import type { ApiKeyRecord } from '../keys/key-store.js';
import type { KeyRateLimiter, RateDecision } from '../limits/key-rate-limiter.js';
import { effectiveKeyLimits, type LimitSettings } from '../limits/settings.js';
import type { AccessTokenVerifier } from '../oauth-server/access-token-verifier.js';
import { displayAddress } from './actor.js';
import type { Caller } from './caller.js';
import type { KeyCheck } from './key-check.js';

const DEFAULT_REALM = 'Bearer realm="mcp-oauth-proxy"';

export interface AuthenticateDeps {
  /** Every key goes through it (refused keys counted per address). */
  keyCheck: KeyCheck;
  limiter: KeyRateLimiter;
  limits: Pick<LimitSettings, 'keyPerMinute' | 'keyPerHour'>;
}

export interface AuthenticateOptions {
  /** Also accept this server's OAuth access tokens: any Bearer value that is not an `sk_` key (only on /mcp, the resource they are bound to). */
  accessTokens?: AccessTokenVerifier;
  /** The WWW-Authenticate challenge of a 401; /mcp names its resource metadata (RFC 9728 §5.1). */
  challenge?: string;
}

/** What a request presents, whatever server framework received it. */
export interface Credentials {
  headers: IncomingHttpHeaders;
  /** The client address (after trusted proxies). */
  ip: string | undefined;
  /** Whether the query string carries something that looks like a key (refused, but explained). */
  keyInQuery: boolean;
}

export interface Authenticated {
  caller: Caller;
  /** The key, when a key (not an OAuth token) authenticated the request. */
  apiKey: ApiKeyRecord | undefined;
  /** The key's rate-limit state after this request; the headers are sent even on success. */
  rate: RateDecision | undefined;
}

export type Authenticator = (credentials: Credentials) => Promise<Authenticated>;

/**
 * Resolves `Authorization: Bearer sk_…` or `X-API-Key: sk_…` (and, where enabled, this server's
 * OAuth access tokens) to the calling user, and takes one request from the key's rate limit.
 * Keys in the query string are refused on purpose: URLs end up in logs, browser history and
 * Referer headers. Framework-free: express routes, the /mcp endpoint and the web forms all use it.
 */
export function createAuthenticator(deps: AuthenticateDeps, options: AuthenticateOptions = {}): Authenticator {
  const realm = options.challenge ?? DEFAULT_REALM;
  // error_description is a quoted-string in an HTTP header: ASCII only, no quotes (RFC 6750 §3).
  const invalidToken = (): UnauthorizedError =>
    new UnauthorizedError(
    'The access token is invalid, expired or revoked.',
    `${realm}, error="invalid_token", error_description="The access token is invalid, expired or revoked"`,
  );
  // A wrong key is not something a sign-in can fix: the client keeps sending the key from its
  // settings. Say so, so that whoever reads it (a person, a client that shows the description)
  // replaces the key rather than signing in again (issue 19; docs/security.md "A wrong key").
  const invalidKey = (): UnauthorizedError =>
    new UnauthorizedError(
    'The API key is invalid, expired or revoked. Replace it in your client’s settings with a working key (a browser sign-in does not change the key your client sends).',
    `${realm}, error="invalid_token", error_description="The API key (sk_...) is invalid, expired or revoked: replace it in the client settings"`,
  );

  return async ({ headers, ip, keyInQuery }) => {
    const who = { ip: displayAddress(ip), userAgent: headers['user-agent'] ?? null };
    const presented = presentedKey(headers);
    if (!presented) {
      throw new UnauthorizedError(
        keyInQuery
          ? 'API keys are not accepted in the query string. Send Authorization: Bearer sk_… or X-API-Key.'
          : 'Missing API key. Send Authorization: Bearer sk_… or X-API-Key: sk_….',
        realm,
      );
    }
    if (options.accessTokens && !presented.startsWith('sk_')) {
      const token = await options.accessTokens.verify(presented);
      if (!token) throw invalidToken();
      return { caller: { userId: token.userId, scopes: token.scopes, keyPrefix: token.label, ...who }, apiKey: undefined, rate: undefined };
    }
    const record = await deps.keyCheck.check(presented, ip);
    if (!record) throw invalidKey();
    const rate = deps.limiter.take(record.id, effectiveKeyLimits(record.rateLimit, deps.limits));
    return { caller: { userId: record.userId, scopes: record.scopes, keyPrefix: record.prefix, ...who }, apiKey: record, rate };
  };
}

function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.trim() ? apiKey.trim() : undefined;
}
