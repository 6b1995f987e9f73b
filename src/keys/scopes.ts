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
