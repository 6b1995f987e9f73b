import { createHash } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { Pool } from '../db/pool.js';
import type { Scope } from '../keys/scopes.js';
import type { Logger } from '../log.js';
import type { IdpMetadata } from './discovery.js';
import { IdpUnavailableError } from './http.js';
import { userForIdentity } from './identity-store.js';
import { introspect } from './introspection.js';
import { scopesFromClaims } from './scopes.js';
import type { IdpSettings } from './settings.js';
import type { SigningKeys } from './signing-keys.js';

/** Who an IdP access token speaks for, shaped like this server's own verified access tokens. */
export interface VerifiedIdpToken {
  userId: string;
  scopes: Scope[];
  /** Safe to log and to show in the audit log: names the IdP subject, never the token. */
  label: string;
}

export interface IdpTokenVerifier {
  /**
   * The token's user, or undefined when it is not a valid token for this resource (→ 401).
   * Throws IdpUnavailableError when the answer needs the IdP and it is down (→ 503).
   */
  verify(token: string): Promise<VerifiedIdpToken | undefined>;
}

/** RFC 9068 and OIDC leave skew to the verifier; half a minute forgives drifting clocks, not stale tokens. */
export const CLOCK_TOLERANCE_SECONDS = 30;
/** A verified token is remembered this long at most (and never past its `exp`), so a disabled user is cut off within it. */
const CACHE_MS = 30_000;
const MAX_CACHED = 10_000;

export interface IdpTokenVerifierDeps {
  pool: Pool;
  settings: IdpSettings;
  metadata: IdpMetadata;
  keys: SigningKeys;
  /** `${PUBLIC_URL}/mcp`: a token whose `aud` names this resource is accepted like one naming IDP_AUDIENCE. */
  resource: string;
  log: Logger;
}

/**
 * Resource-server mode (RFC 9068 JWT access tokens; RFC 7662 for opaque ones when configured).
 * A warm token is a hash-map hit: no signature check, no database, no network. A cold JWT costs
 * one signature check and one indexed read; the JWKS is fetched again only for an unknown `kid`.
 */
export function createIdpTokenVerifier(deps: IdpTokenVerifierDeps): IdpTokenVerifier {
  const { settings, metadata, keys } = deps;
  const audiences = [...new Set([settings.audience, deps.resource])];
  const cache = new Map<string, { result: VerifiedIdpToken; until: number }>();
  const introspectionUrl = settings.introspectionUrl ?? metadata.introspectionEndpoint;
  const introspection = introspectionUrl && settings.client ? { url: introspectionUrl, client: settings.client } : undefined;

  const claimsOf = async (token: string): Promise<JWTPayload | undefined> => {
    if (token.split('.').length === 3) {
      try {
        const { payload } = await jwtVerify(token, keys.resolve, {
          issuer: settings.issuer,
          audience: audiences,
          algorithms: keys.algorithms(),
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['exp', 'sub'],
        });
        return payload;
      } catch (err) {
        if (err instanceof IdpUnavailableError) throw err;
        if (err instanceof errors.JOSEError || err instanceof TypeError) return undefined;
        throw err;
      }
    }
    if (!introspection) return undefined;
    return introspect(introspection.url, introspection.client, token, { issuer: settings.issuer, audiences, toleranceSeconds: CLOCK_TOLERANCE_SECONDS });
  };

  return {
    async verify(token) {
      const hash = createHash('sha256').update(token).digest('base64url');
      const cached = cache.get(hash);
      if (cached) {
        if (cached.until > Date.now()) return cached.result;
        cache.delete(hash);
      }
      const claims = await claimsOf(token);
      if (!claims || typeof claims.sub !== 'string' || claims.sub === '') return undefined;
      const user = await userForIdentity(deps.pool, {
        issuer: settings.issuer,
        subject: claims.sub,
        name: stringClaim(claims.name),
        email: stringClaim(claims.email),
      });
      if (user.disabled) return undefined;
      const result: VerifiedIdpToken = { userId: user.userId, scopes: scopesFromClaims(claims as { scope?: unknown; scp?: unknown }, settings.scopeMap), label: `idp:${claims.sub.slice(0, 12)}` };
      const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now() + CACHE_MS;
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
      cache.set(hash, { result, until: Math.min(expiresAt, Date.now() + CACHE_MS) });
      return result;
    },
  };
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
