import { isScope, type Scope } from '../keys/scopes.js';

/** CONTRACT "Identity provider": a token naming no scope this server knows may use tools and connections, not manage keys. */
export const DEFAULT_IDP_SCOPES: readonly Scope[] = ['tools:read', 'tools:write', 'connections'];

/**
 * The scopes an IdP token grants here, from its `scope` (RFC 9068 §2.2.3, space-separated) or
 * `scp` (Entra ID, Okta: an array or a string) claim. With IDP_SCOPE_MAP the IdP's names are
 * translated; without it, this server's own scope names are taken as they are.
 */
export function scopesFromClaims(claims: { scope?: unknown; scp?: unknown }, map: ReadonlyMap<string, readonly Scope[]>): Scope[] {
  const raw = [claims.scope, claims.scp].flatMap((value) =>
    typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [],
  );
  const granted = new Set<Scope>();
  for (const name of raw) {
    const mapped = map.get(name);
    if (mapped) for (const scope of mapped) granted.add(scope);
    else if (map.size === 0 && isScope(name)) granted.add(name);
  }
  return granted.size > 0 ? [...granted] : [...DEFAULT_IDP_SCOPES];
}
