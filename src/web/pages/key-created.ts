import type { ApiKeyRecord } from '../../keys/key-store.js';
import { clientSettingsSection } from './client-settings-section.js';
import { escapeHtml, layout, timeTag } from './layout.js';
import { secretBox } from './secret.js';
import { scopeBadges } from './scope-words.js';

export interface KeyCreatedView {
  key: ApiKeyRecord;
  apiKey: string;
  /** Set after a rotation: the key it replaces and when that one stops working. */
  replaced?: { prefix: string; endsAt: Date } | undefined;
  publicUrl: string;
  account: { name: string | null; csrf: string };
  oauthProviderNames: readonly string[];
}

/** A key just created or rotated: its secret, once, and the client settings filled in with it. */
export function keyCreatedPage(view: KeyCreatedView): string {
  const { key } = view;
  const title = view.replaced ? 'Key rotated' : 'Key created';
  const replaced = view.replaced
    ? `<p>It replaces <code>${escapeHtml(view.replaced.prefix)}</code>, which ${view.replaced.endsAt.getTime() <= Date.now() + 1000 ? 'has stopped working' : `keeps working until ${timeTag(view.replaced.endsAt)}`}.</p>`
    : '';
  const details = `<dl class="meta">
<dt class="visually-hidden">Name</dt><dd>${escapeHtml(key.name ?? 'Unnamed key')} · <code>${escapeHtml(key.prefix)}</code></dd>
<dt class="visually-hidden">Permissions</dt><dd>${scopeBadges(key.scopes)}</dd>
<dt class="visually-hidden">Expires</dt><dd>${key.expiresAt ? `Expires ${timeTag(key.expiresAt)}` : 'Never expires'}</dd>
</dl>${replaced}`;
  const body = `<h1>${title}</h1>
${secretBox(`Your new key${key.name ? `: ${key.name}` : ''}`, view.apiKey, details)}
<p class="actions"><a class="button" href="/dashboard#keys">Back to your dashboard</a></p>
${clientSettingsSection(view.publicUrl, view.apiKey, view.oauthProviderNames)}`;
  return layout({ title, body, account: view.account });
}
