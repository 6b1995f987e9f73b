import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createAuthenticator, type AuthenticateDeps, type AuthenticateOptions } from '../../auth/authenticator.js';
import type { Caller } from '../../auth/caller.js';
import { ForbiddenError, ServerError } from '../../errors.js';
import type { VerifiedIdpToken } from '../../idp/token-verifier.js';
import type { ApiKeyRecord } from '../../keys/key-store.js';
import type { Scope } from '../../keys/scopes.js';
import { rateLimitError, rateLimitHeaders } from './rate-limit.js';

/** Express form of src/auth's authenticator: sets the caller (and rate-limit headers) on the response. */
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
