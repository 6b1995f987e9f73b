import type { IncomingHttpHeaders } from 'node:http';
import { displayAddress } from '../../audit/actor.js';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ForbiddenError, ServerError, ServiceUnavailableError, TooManyRequestsError, UnauthorizedError } from '../../errors.js';
import { IdpUnavailableError } from '../../idp/http.js';
import type { IdpTokenVerifier, VerifiedIdpToken } from '../../idp/token-verifier.js';
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
  /** The organisation's IdP (resource-server mode): its access tokens are accepted wherever a key is. */
  idpTokens?: IdpTokenVerifier | undefined;
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
  /** The IdP access token, when one (not a key) authenticated the request. */
  idpToken?: VerifiedIdpToken;
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
    if ((options.accessTokens || deps.idpTokens) && !presented.startsWith('sk_')) {
      const own = options.accessTokens ? await options.accessTokens.verify(presented) : undefined;
      if (own) return { caller: { userId: own.userId, scopes: own.scopes, keyPrefix: own.label, ...who }, apiKey: undefined, rate: undefined };
      const idp = deps.idpTokens ? await verifyIdpToken(deps.idpTokens, presented) : undefined;
      if (!idp) throw invalid('access token');
      return { caller: { userId: idp.userId, scopes: idp.scopes, keyPrefix: idp.label, ...who }, apiKey: undefined, rate: undefined, idpToken: idp };
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
    const { caller, apiKey, rate, idpToken } = await authenticator({ headers: req.headers, ip: req.ip, keyInQuery });
    if (rate) {
      res.set(rateLimitHeaders(rate));
      if (!rate.allowed) throw rateLimitError(rate);
    }
    res.locals.caller = caller;
    // The key routes act as the IdP token's user with the token's scopes, exactly as with a key.
    res.locals.apiKey = apiKey ?? (idpToken && idpAuthority(idpToken));
    next();
  };
}

/** An IdP outage is not the caller's fault: 503 (try again), never a 401 that makes clients sign in again. */
async function verifyIdpToken(verifier: IdpTokenVerifier, token: string): Promise<VerifiedIdpToken | undefined> {
  try {
    return await verifier.verify(token);
  } catch (err) {
    if (err instanceof IdpUnavailableError) throw new ServiceUnavailableError('The identity provider could not be reached to check this token. Try again in a few seconds.');
    throw err;
  }
}

/**
 * What an IdP token may do on the key routes, as a key would: the user, the token's scopes, no
 * limits of its own (CONTRACT: an IdP token is accepted wherever a key is). Not a stored key:
 * its empty id matches none, and createKeyAs/rotateKeyAs read only user, scopes, limits, expiry.
 */
function idpAuthority(token: VerifiedIdpToken): ApiKeyRecord {
  return {
    id: '',
    userId: token.userId,
    name: null,
    prefix: token.label,
    scopes: token.scopes,
    createdAt: new Date(0),
    lastUsedAt: null,
    expiresAt: null,
    rateLimit: { perMinute: null, perHour: null },
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

/** The key that authenticated the request (or an IdP token's stand-in); only valid behind an `authenticate` that takes no OAuth access tokens. */
export function apiKeyOf(res: Response): ApiKeyRecord {
  const key = res.locals.apiKey as ApiKeyRecord | undefined;
  // Routes that manage keys never accept this server's OAuth access tokens; reaching here without a key is a wiring bug.
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
