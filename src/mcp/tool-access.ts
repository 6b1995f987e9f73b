import type { RegisteredTool } from '../providers/registry.js';

/** `tools:write` reaches every tool; `tools:read` only the GET ones. */
export function canUseTool(scopes: readonly string[], tool: RegisteredTool): boolean {
  return scopes.includes('tools:write') || (tool.readOnly && scopes.includes('tools:read'));
}

export function canUseTools(scopes: readonly string[]): boolean {
  return scopes.includes('tools:write') || scopes.includes('tools:read');
}
