import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ForbiddenError, UnauthorizedError } from '../../errors.js';
import type { KeyService } from '../../keys/key-service.js';
import type { Scope } from '../../keys/scopes.js';
import type { Caller } from '../../mcp/call-tool.js';
import type { AccessTokenVerifier } from '../../oauth-server/access-token-verifier.js';

const DEFAULT_REALM = 'Bearer realm="mcp-oauth-proxy"';

export interface AuthenticateOptions {
  /** Also accept this server's OAuth access tokens: any Bearer value that is not an `sk_` key (only on /mcp, the resource they are bound to). */
  accessTokens?: AccessTokenVerifier;
  /** The WWW-Authenticate challenge of a 401; /mcp names its resource metadata (RFC 9728 §5.1). */
  challenge?: string;
}

/**
 * Resolves `Authorization: Bearer sk_…` or `X-API-Key: sk_…` to the calling user.
 * Keys in the query string are refused on purpose: URLs end up in logs, browser history and
 * Referer headers.
 */
export function authenticate(keys: KeyService, options: AuthenticateOptions = {}): RequestHandler {
  const REALM = options.challenge ?? DEFAULT_REALM;
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
    if (options.accessTokens && !presented.startsWith('sk_')) {
      const token = await options.accessTokens.verify(presented);
      if (!token) {
        throw new UnauthorizedError(
          'The access token is invalid, expired or revoked.',
          `${REALM}, error="invalid_token", error_description="The access token is invalid, expired or revoked"`,
        );
      }
      res.locals.caller = { userId: token.userId, scopes: token.scopes, keyPrefix: token.label } satisfies Caller;
      return next();
    }
    const record = await keys.verify(presented);
    if (!record) {
      throw new UnauthorizedError(
        'The API key is invalid, expired or revoked.',
        `${REALM}, error="invalid_token", error_description="The API key is invalid, expired or revoked"`,
      );
    }
    const caller: Caller = { userId: record.userId, scopes: record.scopes, keyPrefix: record.prefix };
    res.locals.caller = caller;
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
