import type { ApiKeyRecord } from '../../keys/key-store.js';
import { SCOPES, type Scope } from '../../keys/scopes.js';
import { fieldError, invalidAttrs } from './fields.js';
import { csrfField, escapeHtml, timeTag } from './layout.js';
import { confirmForm } from './providers-section.js';
import { SCOPE_LABELS, scopeBadges } from './scope-words.js';

/** Expiry choices of the create form, in seconds ('' = none of its own). */
export const EXPIRY_CHOICES: ReadonlyArray<{ value: string; label: string }> = [
  { value: '', label: 'Never' },
  { value: String(24 * 3600), label: 'In 1 day' },
  { value: String(7 * 24 * 3600), label: 'In 7 days' },
  { value: String(30 * 24 * 3600), label: 'In 30 days' },
  { value: String(90 * 24 * 3600), label: 'In 90 days' },
  { value: String(365 * 24 * 3600), label: 'In 1 year' },
];

/** How long a rotated key's old secret keeps working. */
export const GRACE_CHOICES: ReadonlyArray<{ value: string; label: string }> = [
  { value: '0', label: 'Stop the old secret now' },
  { value: '3600', label: 'Keep the old secret working for 1 hour' },
  { value: String(24 * 3600), label: 'Keep the old secret working for 1 day' },
  { value: String(7 * 24 * 3600), label: 'Keep the old secret working for 7 days' },
];

/** What the create form held, kept when it comes back with an error. */
export interface NewKeyValues {
  name: string;
  scopes: Scope[];
  expires: string;
}

export interface KeysSectionView {
  keys: readonly ApiKeyRecord[];
  csrf: string;
  /** What the session may grant: a new key can never have more. */
  grantable: readonly Scope[];
  /** When the session acts as an expiring key, "Never" means "when that key expires". */
  sessionKeyExpiresAt: Date | null;
  signedInKeyId: string | null;
  values?: NewKeyValues | undefined;
  createError?: string | undefined;
  /** An error about one listed key (rotate/revoke). */
  keyError?: { keyId: string; message: string } | undefined;
}

export function keysSection(view: KeysSectionView): string {
  const list =
    view.keys.length === 0
      ? '<p class="card">You have no working API keys. Create one below.</p>'
      : `<ul class="cards">${view.keys.map((k) => `<li class="card" id="key-${escapeHtml(k.id)}">${keyCard(k, view)}</li>`).join('')}</ul>`;
  return `<section id="keys" aria-labelledby="keys-h">
<h2 id="keys-h">API keys</h2>
<p>Give each AI client its own key, with only the permissions it needs, so you can revoke one without touching the others.</p>
${list}
${createForm(view)}
</section>`;
}

function keyCard(k: ApiKeyRecord, view: KeysSectionView): string {
  const label = escapeHtml(k.name ?? 'Unnamed key');
  const mine = k.id === view.signedInKeyId ? ' <span class="badge info">You signed in with this key</span>' : '';
  const error = view.keyError?.keyId === k.id ? fieldError(`key-${k.id}-error`, view.keyError.message) : '';
  const graceOptions = GRACE_CHOICES.map((c) => `<option value="${c.value}">${escapeHtml(c.label)}</option>`).join('');
  const rotate = `<details class="more"><summary>Rotate…</summary>
<form method="post" action="/dashboard/keys/${escapeHtml(k.id)}/rotate" class="inline-form">${csrfField(view.csrf)}
<div class="field"><label for="grace-${escapeHtml(k.id)}">Old secret</label><select id="grace-${escapeHtml(k.id)}" name="grace_seconds">${graceOptions}</select></div>
<button type="submit">Rotate ${label}</button></form></details>`;
  const signOutNote = k.id === view.signedInKeyId ? ' You signed in with it, so this also signs you out.' : '';
  const revoke = confirmForm(`/dashboard/keys/${k.id}/revoke`, view.csrf, 'Revoke…', `Revoke <code>${escapeHtml(k.prefix)}</code>? It stops working at once, for every client that uses it.${signOutNote}`, `Revoke ${label}`);
  return `<div class="card-head"><h3>${label}</h3><code>${escapeHtml(k.prefix)}</code></div>
<p>${scopeBadges(k.scopes)}${mine}</p>
<p class="meta">Created ${timeTag(k.createdAt)} · Last used ${timeTag(k.lastUsedAt, 'never')} · ${k.expiresAt ? `Expires ${timeTag(k.expiresAt)}` : 'Never expires'}</p>
${error}<div class="actions">${rotate}${revoke}</div>`;
}

function createForm(view: KeysSectionView): string {
  const values = view.values ?? { name: '', scopes: ['tools:read', 'tools:write'].filter((s) => view.grantable.includes(s as Scope)) as Scope[], expires: '' };
  const scopeBoxes = SCOPES.map((scope) => {
    const allowed = view.grantable.includes(scope);
    const checked = values.scopes.includes(scope) && allowed ? ' checked' : '';
    const id = `scope-${scope.replace(':', '-')}`;
    return `<label class="check" for="${id}"><input type="checkbox" id="${id}" name="scopes" value="${scope}"${checked}${allowed ? '' : ' disabled'}>
<span>${escapeHtml(SCOPE_LABELS[scope].long)}${allowed ? '' : ' <span class="hint">(the key you signed in with cannot grant this)</span>'}</span></label>`;
  }).join('');
  const never = view.sessionKeyExpiresAt ? 'When the key you signed in with expires' : 'Never';
  const expiryOptions = EXPIRY_CHOICES.map(
    (c) => `<option value="${c.value}"${c.value === values.expires ? ' selected' : ''}>${escapeHtml(c.value === '' ? never : c.label)}</option>`,
  ).join('');
  return `<div class="card" id="create-key">
<h3>Create a key</h3>
<form method="post" action="/dashboard/keys" novalidate>${csrfField(view.csrf)}
${fieldError('create-key-error', view.createError)}
<div class="field"><label for="key-name">Name <span class="hint">Where you will use it, e.g. “Claude Desktop on my laptop”.</span></label>
<input type="text" id="key-name" name="name" maxlength="100" autocomplete="off" value="${escapeHtml(values.name)}"${invalidAttrs('create-key-error', view.createError)}></div>
<fieldset><legend>Permissions</legend>${scopeBoxes}</fieldset>
<div class="field"><label for="key-expires">Expires</label><select id="key-expires" name="expires_in">${expiryOptions}</select></div>
<button type="submit">Create key</button>
</form></div>`;
}
