import { createLocalJWKSet, errors, type JSONWebKeySet, type JWK, type JWTHeaderParameters } from 'jose';
import { getJson, IdpUnavailableError } from './http.js';

/**
 * The only algorithms an IdP token may use: asymmetric signatures. `none` and every HMAC are
 * refused whatever the token or the metadata says — an HS256 token "signed" with the IdP's
 * public key (the classic key-confusion forgery) must never verify.
 */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** An unknown `kid` fetches the JWKS again at most this often: a flood of forged kids costs one fetch per interval. */
export const REFETCH_COOLDOWN_MS = 5_000;
/** Known keys are refreshed in the background after this long (a revoked key leaves within this time). */
const MAX_AGE_MS = 10 * 60_000;

type KeyResolver = ReturnType<typeof createLocalJWKSet>;

/** The IdP's public keys, cached: the warm path is a lookup in memory. */
export interface SigningKeys {
  /** For jose's jwtVerify: the key the header names; refetches once (bounded) on an unknown `kid`. */
  resolve(header: JWTHeaderParameters): ReturnType<KeyResolver>;
  /** The asymmetric algorithms the IdP publishes (metadata and JWKS). */
  algorithms(): string[];
  /** How many times the JWKS was fetched (tests and the bench read it). */
  readonly fetches: number;
}

/**
 * Loads the JWKS once (a start-up error when it cannot be read) and keeps it. An IdP outage
 * later keeps the keys already known working; only a token with a new `kid` then fails (503).
 */
export async function loadSigningKeys(jwksUri: string, published: readonly string[]): Promise<SigningKeys> {
  let jwks = await fetchJwks(jwksUri);
  let local = createLocalJWKSet(jwks);
  let fetchedAt = Date.now();
  // The start-up fetch was not caused by a token: the first unknown kid may fetch at once.
  let lastAttempt = 0;
  let fetches = 1;
  let inFlight: Promise<void> | undefined;
  let allowed = allowedAlgorithms(published, jwks.keys);

  const refetch = (): Promise<void> => {
    inFlight ??= (async () => {
      lastAttempt = Date.now();
      fetches += 1;
      try {
        jwks = await fetchJwks(jwksUri);
        local = createLocalJWKSet(jwks);
        fetchedAt = Date.now();
        allowed = allowedAlgorithms(published, jwks.keys);
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  return {
    async resolve(header) {
      if (Date.now() - fetchedAt > MAX_AGE_MS && Date.now() - lastAttempt > REFETCH_COOLDOWN_MS) {
        // Background refresh: the keys in hand keep working if the IdP is down meanwhile.
        refetch().catch(() => undefined);
      }
      try {
        return await local(header);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
        if (inFlight) await inFlight.catch(() => undefined);
        else if (Date.now() - lastAttempt >= REFETCH_COOLDOWN_MS) await refetch(); // IdpUnavailableError propagates: 503
        return local(header);
      }
    },
    algorithms: () => allowed,
    get fetches() {
      return fetches;
    },
  };
}

async function fetchJwks(uri: string): Promise<JSONWebKeySet> {
  const body = await getJson(uri);
  const keys = (body as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys)) throw new IdpUnavailableError(`the identity provider's JWKS at ${uri} holds no "keys" array`);
  // Only public signing keys; a symmetric ("oct") key in a JWKS is dropped, never used.
  return { keys: (keys as JWK[]).filter((k) => typeof k === 'object' && k !== null && k.kty !== 'oct' && (k.use === undefined || k.use === 'sig')) };
}

/**
 * The algorithms named by the metadata or the keys, limited to asymmetric ones. A JWKS whose keys
 * name no `alg`, behind metadata that names none either, gets each key type's usual algorithm.
 */
function allowedAlgorithms(published: readonly string[], keys: readonly JWK[]): string[] {
  const asymmetric = new Set<string>(ASYMMETRIC_ALGORITHMS);
  const named = new Set([...published, ...keys.flatMap((k) => (k.alg ? [k.alg] : []))].filter((a) => asymmetric.has(a)));
  if (named.size > 0) return [...named];
  const inferred = keys.flatMap((k) => (k.kty === 'RSA' ? ['RS256'] : k.kty === 'EC' ? [k.crv === 'P-384' ? 'ES384' : k.crv === 'P-521' ? 'ES512' : 'ES256'] : k.kty === 'OKP' ? ['EdDSA'] : []));
  return [...new Set(inferred)];
}
