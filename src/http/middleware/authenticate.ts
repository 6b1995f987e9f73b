import type { IncomingHttpHeaders } from 'node:http';
import { displayAddress } from '../../audit/actor.js';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ForbiddenError, ServerError, TooManyRequestsError, UnauthorizedError } from '../../errors.js';
import type { KeyService } from '../../keys/key-service.js';
import type { ApiKeyRecord } from '../../keys/key-store.js';
import type { Scope } from '../../keys/scopes.js';
import type { IpLimiter } from '../../limits/ip-limiter.js';
import type { KeyRateLimiter, RateDecision } from '../../limits/key-rate-limiter.js';
import { effectiveKeyLimits, type LimitSettings } from '../../limits/settings.js';
import type { Caller } from '../../mcp/call-tool.js';
import type { AccessTokenVerifier } from '../../oauth-server/access-token-verifier.js';
import { rateLimitHeaders, rateLimitError } from './rate-limit.js';

const DEFAULT_REALM = 'Bearer realm="mcp-oauth-proxy"';

export interface AuthenticateDeps {
  keys: KeyService;
  limiter: KeyRateLimiter;
  /** Counts refused keys per client address. */
  failedAuth: IpLimiter;
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

/**
 * Resolves `Authorization: Bearer sk_…` or `X-API-Key: sk_…` (and, where enabled, this server's
 * OAuth access tokens) to the calling user, and takes one request from the key's rate limit.
 * Keys in the query string are refused on purpose: URLs end up in logs, browser history and
 * Referer headers.
 *
 * A key seen recently is checked in memory (no database, no bcrypt). Anything else may cost a
 * lookup and a bcrypt compare, so an address with too many refused keys must wait before it
 * may try again: guessing is cut off and nobody can make us burn CPU on bcrypt.
 */
export function createAuthenticator(deps: AuthenticateDeps, options: AuthenticateOptions = {}): (credentials: Credentials) => Promise<Authenticated> {
  const realm = options.challenge ?? DEFAULT_REALM;
  const invalid = (what: string): UnauthorizedError =>
    new UnauthorizedError(`The ${what} is invalid, expired or revoked.`, `${realm}, error="invalid_token", error_description="The ${what} is invalid, expired or revoked"`);

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
      if (!token) throw invalid('access token');
      return { caller: { userId: token.userId, scopes: token.scopes, keyPrefix: token.label, ...who }, apiKey: undefined, rate: undefined };
    }
    let record = deps.keys.peek(presented);
    if (!record) {
      const wait = deps.failedAuth.blockedFor(ip);
      if (wait !== undefined) throw new TooManyRequestsError(`Too many invalid API keys from your address. Try again in ${wait} s.`, wait);
      record = await deps.keys.verify(presented);
      if (!record) {
        deps.failedAuth.hit(ip);
        throw invalid('API key');
      }
    }
    const rate = deps.limiter.take(record.id, effectiveKeyLimits(record.rateLimit, deps.limits));
    return { caller: { userId: record.userId, scopes: record.scopes, keyPrefix: record.prefix, ...who }, apiKey: record, rate };
  };
}

/** Express form of {@link createAuthenticator}: sets the caller (and rate-limit headers) on the response. */
export function authenticate(deps: AuthenticateDeps, options: AuthenticateOptions = {}): RequestHandler {
  const authenticator = createAuthenticator(deps, options);
  return async (req: Request, res: Response, next: NextFunction) => {
    const keyInQuery = typeof req.query.api_key === 'string' || typeof req.query.key === 'string';
    const { caller, apiKey, rate } = await authenticator({ headers: req.headers, ip: req.ip, keyInQuery });
    if (rate) {
      res.set(rateLimitHeaders(rate));
      if (!rate.allowed) throw rateLimitError(rate);
    }
    res.locals.caller = caller;
    res.locals.apiKey = apiKey;
    next();
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

/** The key that authenticated the request; only valid behind an `authenticate` that takes keys only. */
export function apiKeyOf(res: Response): ApiKeyRecord {
  const key = res.locals.apiKey as ApiKeyRecord | undefined;
  // Routes that manage keys never accept OAuth access tokens; reaching here without a key is a wiring bug.
  if (!key) throw new ServerError();
  return key;
}

/** The authenticated caller; only valid behind `authenticate`. */
export function callerOf(res: Response): Caller {
  return res.locals.caller as Caller;
}

export function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    if (!callerOf(res).scopes.includes(scope)) {
      throw new ForbiddenError(`This API key lacks the "${scope}" scope.`, 'insufficient_scope');
    }
    next();
  };
}
