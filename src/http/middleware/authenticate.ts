import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../../errors.js';
import type { KeyService } from '../../keys/key-service.js';
import type { ApiKeyRecord } from '../../keys/key-store.js';
import type { Scope } from '../../keys/scopes.js';
import type { IpLimiter } from '../../limits/ip-limiter.js';
import type { KeyRateLimiter } from '../../limits/key-rate-limiter.js';
import { effectiveKeyLimits, type LimitSettings } from '../../limits/settings.js';
import type { Caller } from '../../mcp/call-tool.js';
import { actAsKey } from './actor-context.js';
import { applyRateDecision } from './rate-limit.js';

const REALM = 'Bearer realm="mcp-oauth-proxy"';

export interface AuthenticateDeps {
  keys: KeyService;
  limiter: KeyRateLimiter;
  /** Counts refused keys per client address. */
  failedAuth: IpLimiter;
  limits: Pick<LimitSettings, 'keyPerMinute' | 'keyPerHour'>;
}

/**
 * Resolves `Authorization: Bearer sk_…` or `X-API-Key: sk_…` to the calling user, then applies
 * the key's rate limit. Keys in the query string are refused on purpose: URLs end up in logs,
 * browser history and Referer headers.
 *
 * A key seen recently is checked in memory (no database, no bcrypt). Anything else may cost a
 * lookup and a bcrypt compare, so an address with too many refused keys must wait before it
 * may try again: guessing is cut off and nobody can make us burn CPU on bcrypt. The client
 * address is `req.ip`, i.e. X-Forwarded-For only from a trusted (loopback / private) proxy.
 */
export function authenticate(deps: AuthenticateDeps): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const presented = presentedKey(req);
    if (!presented) {
      const inQuery = typeof req.query.api_key === 'string' || typeof req.query.key === 'string';
      throw new UnauthorizedError(
        inQuery
          ? 'API keys are not accepted in the query string. Send Authorization: Bearer sk_… or X-API-Key.'
          : 'Missing API key. Send Authorization: Bearer sk_… or X-API-Key: sk_….',
        REALM,
      );
    }
    let record = deps.keys.peek(presented);
    if (!record) {
      const wait = deps.failedAuth.blockedFor(req.ip);
      if (wait !== undefined) {
        throw new TooManyRequestsError(`Too many invalid API keys from your address. Try again in ${wait} s.`, wait);
      }
      record = await deps.keys.verify(presented);
      if (!record) {
        deps.failedAuth.hit(req.ip);
        throw new UnauthorizedError(
          'The API key is invalid, expired or revoked.',
          `${REALM}, error="invalid_token", error_description="The API key is invalid, expired or revoked"`,
        );
      }
    }
    applyRateDecision(res, deps.limiter.take(record.id, effectiveKeyLimits(record.rateLimit, deps.limits)));
    const caller: Caller = { userId: record.userId, scopes: record.scopes, keyPrefix: record.prefix };
    res.locals.caller = caller;
    res.locals.apiKey = record;
    actAsKey(record.prefix);
    next();
  };
}

function presentedKey(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  const apiKey = req.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.trim() ? apiKey.trim() : undefined;
}

/** The key that authenticated the request; only valid behind `authenticate`. */
export function apiKeyOf(res: Response): ApiKeyRecord {
  return res.locals.apiKey as ApiKeyRecord;
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
