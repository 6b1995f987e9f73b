/**
 * What a key may do (CONTRACT "Keys and audit").
 * `tools:read` sees and calls only GET tools; `tools:write` all tools.
 */
export const SCOPES = ['tools:read', 'tools:write', 'connections', 'keys'] as const;
export type Scope = (typeof SCOPES)[number];

/** A registered user's first key can do everything. */
export const ALL_SCOPES: readonly Scope[] = SCOPES;

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** What a set of scopes allows in effect: `tools:write` reaches every tool, so it covers `tools:read`. */
function effective(scopes: readonly string[]): Set<string> {
  const set = new Set(scopes);
  if (set.has('tools:write')) set.add('tools:read');
  return set;
}

/** The scopes in `wanted` that `held` does not cover: a key can never grant more than it has. */
export function scopesBeyond(held: readonly string[], wanted: readonly string[]): string[] {
  const have = effective(held);
  return wanted.filter((scope) => !have.has(scope));
}
