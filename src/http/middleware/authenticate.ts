import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createAuthenticator, type AuthenticateDeps, type AuthenticateOptions } from '../../auth/authenticator.js';
import type { Caller } from '../../auth/caller.js';
import { ForbiddenError, ServerError } from '../../errors.js';
import type { ApiKeyRecord } from '../../keys/key-store.js';
import type { Scope } from '../../keys/scopes.js';
import { rateLimitError, rateLimitHeaders } from './rate-limit.js';

/** Express form of src/auth's authenticator: sets the caller (and rate-limit headers) on the response. */
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
