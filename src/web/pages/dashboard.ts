import type { Scope } from '../../keys/scopes.js';
import type { DashboardData } from '../dashboard-data.js';
import { activitySection } from './activity-section.js';
import { clientSettingsSection } from './client-settings-section.js';
import { keysSection, type NewKeyValues } from './keys-section.js';
import { escapeHtml, layout } from './layout.js';
import { providersSection } from './providers-section.js';

export interface DashboardView {
  data: DashboardData;
  publicUrl: string;
  userName: string | null;
  csrf: string;
  /** What the session may do (its key's scopes, or all of them). */
  scopes: readonly Scope[];
  signedInKey: { id: string; expiresAt: Date | null } | null;
  notice?: string | undefined;
  /** An error to show in place, after a form came back. */
  problem?:
    | { kind: 'provider'; providerId: string; message: string }
    | { kind: 'create-key'; message: string; values: NewKeyValues }
    | { kind: 'key'; keyId: string; message: string }
    | undefined;
}

/** `/dashboard`: connections, keys, client settings and activity, each a section with its own heading. */
export function dashboardPage(view: DashboardView): string {
  const { data, problem } = view;
  const providerName = (id: string) => data.providers.find((p) => p.id === id)?.name ?? id;
  const oauthNames = data.providers.filter((p) => p.auth === 'oauth2').map((p) => p.name);
  const body = `${view.notice ? `<div class="notice" role="status">${escapeHtml(view.notice)}</div>` : ''}
<div class="section-head"><h1>Your dashboard</h1>
<nav aria-label="Sections" class="actions"><a href="#connections">Connections</a><a href="#keys">API keys</a><a href="#clients">AI clients</a><a href="#activity">Activity</a></nav></div>
${providersSection({
  providers: data.providers,
  csrf: view.csrf,
  canChange: view.scopes.includes('connections'),
  problem: problem?.kind === 'provider' ? problem : undefined,
})}
${keysSection({
  keys: data.keys,
  csrf: view.csrf,
  grantable: view.scopes,
  sessionKeyExpiresAt: view.signedInKey?.expiresAt ?? null,
  signedInKeyId: view.signedInKey?.id ?? null,
  values: problem?.kind === 'create-key' ? problem.values : undefined,
  createError: problem?.kind === 'create-key' ? problem.message : undefined,
  keyError: problem?.kind === 'key' ? problem : undefined,
})}
${clientSettingsSection(view.publicUrl, undefined, oauthNames)}
${activitySection(data, providerName)}`;
  return layout({ title: 'Dashboard', body, account: { name: view.userName, csrf: view.csrf } });
}
