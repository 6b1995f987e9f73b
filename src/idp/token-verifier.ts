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
import { createUserStanding } from './user-standing.js';

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
/**
 * An introspection answer is the IdP's word that an opaque token is still active: asked again
 * after this long (a JWT's signature cannot change, so its proof is kept until its `exp`). Neither
 * bounds a disabled user: that is the user's standing, re-read every IDP_TRUST_MS (5 s).
 */
const INTROSPECTION_TTL_MS = 30_000;
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
 * A warm token is two hash-map hits (its proof, its user's standing): no signature check, no
 * database, no network. Every 5 s a token in use costs one read by primary key (is its user still
 * enabled? shared by all of that user's tokens). A cold JWT costs one signature check and one
 * indexed read; the JWKS is fetched again only for an unknown `kid`.
 */
export function createIdpTokenVerifier(deps: IdpTokenVerifierDeps): IdpTokenVerifier {
  const { settings, metadata, keys } = deps;
  const audiences = [...new Set([settings.audience, deps.resource])];
  // Keyed by SHA-256 of the token: the cache must never hold usable bearer tokens.
  const proofs = new Map<string, { result: VerifiedIdpToken; until: number }>();
  const standing = createUserStanding(deps.pool, MAX_CACHED);
  // A client's first burst (16 calls at once) shares one signature check and one identity read.
  const coldChecks = new Map<string, Promise<VerifiedIdpToken | undefined>>();
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

  const cold = async (token: string, hash: string): Promise<VerifiedIdpToken | undefined> => {
    const isJwt = token.split('.').length === 3;
    const claims = await claimsOf(token);
    if (!claims || typeof claims.sub !== 'string' || claims.sub === '') return undefined;
    const readAt = Date.now();
    const user = await userForIdentity(deps.pool, {
      issuer: settings.issuer,
      subject: claims.sub,
      name: stringClaim(claims.name),
      email: stringClaim(claims.email),
    });
    standing.record(user.userId, !user.disabled, readAt);
    const result: VerifiedIdpToken = { userId: user.userId, scopes: scopesFromClaims(claims as { scope?: unknown; scp?: unknown }, settings.scopeMap), label: `idp:${claims.sub.slice(0, 12)}` };
    // Kept even for a disabled user: the proof is about the token, the standing about the user.
    const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : readAt + INTROSPECTION_TTL_MS;
    const until = isJwt ? expiresAt : Math.min(expiresAt, readAt + INTROSPECTION_TTL_MS);
    if (proofs.size >= MAX_CACHED) proofs.delete(proofs.keys().next().value as string);
    if (until > Date.now()) proofs.set(hash, { result, until });
    return user.disabled ? undefined : result;
  };

  return {
    async verify(token) {
      const hash = createHash('sha256').update(token).digest('base64url');
      const proof = proofs.get(hash);
      if (proof && proof.until > Date.now()) {
        const { userId } = proof.result;
        const active = standing.fresh(userId) ?? (await standing.read(userId));
        return active ? proof.result : undefined;
      }
      if (proof) proofs.delete(hash);
      let check = coldChecks.get(hash);
      if (!check) {
        check = cold(token, hash).finally(() => coldChecks.delete(hash));
        coldChecks.set(hash, check);
      }
      return check;
    },
  };
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
