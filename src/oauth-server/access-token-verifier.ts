import type { Queryable } from '../db/pool.js';
import type { Scope } from '../keys/scopes.js';
import { findAccessToken } from './token-store.js';

/** Who an access token speaks for, shaped like a verified API key's caller. */
export interface VerifiedAccessToken {
  userId: string;
  scopes: Scope[];
  /** Safe to log: names the client and grant, never the token. */
  label: string;
}

export interface AccessTokenVerifier {
  verify(token: string): Promise<VerifiedAccessToken | undefined>;
}

/**
 * Resource-server side: one indexed read per request (token hash is the primary key), no cache.
 * A cache would save ~0.2 ms against a query that already runs on every tool call; without one,
 * revocation and family revocation take effect on every instance at once. The audience check
 * (RFC 8707, MCP "Token Audience Binding") refuses tokens bound to any other resource — e.g.
 * issued before PUBLIC_URL changed.
 */
export function createAccessTokenVerifier(db: Queryable, resource: string): AccessTokenVerifier {
  return {
    async verify(token) {
      if (!/^mcp_at_[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
      const record = await findAccessToken(db, token);
      if (!record || record.resource !== resource) return undefined;
      return { userId: record.userId, scopes: record.scopes as Scope[], label: `oauth:${record.grantId.slice(0, 8)}` };
    },
  };
}
