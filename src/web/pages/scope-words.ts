import type { Scope } from '../../keys/scopes.js';
import { escapeHtml } from './layout.js';

/** What each key scope lets a key do, in plain words (the create-key form's labels). */
export const SCOPE_LABELS: Record<Scope, { short: string; long: string }> = {
  'tools:read': { short: 'Read tools', long: 'Use read-only tools (they only fetch data)' },
  'tools:write': { short: 'All tools', long: 'Use every tool, including ones that change data' },
  connections: { short: 'Connections', long: 'Connect and disconnect your accounts' },
  keys: { short: 'Keys', long: 'Manage API keys, read the activity log and sign in here' },
};

export function scopeBadges(scopes: readonly Scope[]): string {
  return scopes.map((s) => `<span class="badge scope">${escapeHtml(SCOPE_LABELS[s]?.short ?? s)}</span>`).join(' ');
}
