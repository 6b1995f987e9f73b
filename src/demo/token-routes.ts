import express, { Router, type Response } from 'express';
import type { Pool } from '../db/pool.js';
import { pkceMatches } from '../crypto/secrets.js';
import { DEMO_CLIENT_ID } from './demo-provider.js';
import { consumeDemoCode, consumeDemoRefreshToken, issueDemoTokens, revokeDemoGrant, type DemoTokenPair } from './demo-store.js';

const form = express.urlencoded({ extended: false, limit: '8kb' });

export interface DemoTokenDeps {
  pool: Pool;
  /** Access token lifetime (default an hour; tests shorten it to see refresh happen). */
  accessTokenTtlSeconds: number;
}

/**
 * POST /demo/token (authorization_code with PKCE, refresh_token with rotation) and
 * POST /demo/revoke (RFC 7009). The demo client is public: it proves itself with PKCE, not a secret.
 */
export function demoTokenRouter(deps: DemoTokenDeps): Router {
  const router = Router();

  router.post('/demo/token', form, async (req, res) => {
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    const p = stringParams(req.body);
    if (clientIdOf(req.headers.authorization, p) !== DEMO_CLIENT_ID) {
      oauthError(res, 401, 'invalid_client', 'The demo only serves its own client.');
      return;
    }
    if (p.grant_type === 'authorization_code') {
      const code = p.code ? await consumeDemoCode(deps.pool, p.code) : undefined;
      if (!code || code.redirectUri !== p.redirect_uri || !code.codeChallenge || !p.code_verifier || !pkceMatches(p.code_verifier, code.codeChallenge)) {
        oauthError(res, 400, 'invalid_grant', 'The code is unknown, used, expired, or its redirect_uri or code_verifier does not match.');
        return;
      }
      tokenResponse(res, code.account, code.scopes, await issueDemoTokens(deps.pool, code, deps.accessTokenTtlSeconds));
      return;
    }
    if (p.grant_type === 'refresh_token') {
      const grant = p.refresh_token ? await consumeDemoRefreshToken(deps.pool, p.refresh_token) : undefined;
      if (!grant) {
        oauthError(res, 400, 'invalid_grant', 'The refresh token is unknown, revoked, already used or expired.');
        return;
      }
      // The old access token lives out its lifetime (calls in flight may still carry it), as at most upstreams.
      tokenResponse(res, grant.account, grant.scopes, await issueDemoTokens(deps.pool, grant, deps.accessTokenTtlSeconds));
      return;
    }
    oauthError(res, 400, 'unsupported_grant_type', 'The demo supports authorization_code and refresh_token.');
  });

  router.post('/demo/revoke', form, async (req, res) => {
    const p = stringParams(req.body);
    if (clientIdOf(req.headers.authorization, p) !== DEMO_CLIENT_ID) {
      oauthError(res, 401, 'invalid_client', 'The demo only serves its own client.');
      return;
    }
    // RFC 7009 §2.2: 200 whether or not the token was known.
    if (p.token) await revokeDemoGrant(deps.pool, p.token);
    res.status(200).end();
  });

  return router;
}

function tokenResponse(res: Response, account: string, scopes: string[], tokens: DemoTokenPair): void {
  res.json({
    access_token: tokens.accessToken,
    token_type: 'Bearer',
    expires_in: tokens.expiresIn,
    refresh_token: tokens.refreshToken,
    scope: scopes.join(' '),
    // Named by the provider's `account_id_field`, as OwnerRez's `user_id` is.
    account,
  });
}

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

function stringParams(body: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries((body ?? {}) as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** client_secret_post sends `client_id` in the body; a Basic header (with an empty secret) also works. */
function clientIdOf(authorization: string | undefined, p: Record<string, string>): string | undefined {
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    return decodeURIComponent(decoded.split(':')[0] ?? '');
  }
  return p.client_id;
}
