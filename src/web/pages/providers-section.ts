import type { ProviderCard } from '../dashboard-data.js';
import { fieldError, invalidAttrs } from './fields.js';
import { csrfField, escapeHtml, timeTag } from './layout.js';

export interface ProvidersSectionView {
  providers: readonly ProviderCard[];
  csrf: string;
  /** The session may connect and disconnect (its key has the `connections` scope). */
  canChange: boolean;
  /** An inline error on one provider's card (a refused API key, an upstream that could not be reached). */
  problem?: { providerId: string; message: string } | undefined;
}

/** "Connections": every configured provider, its status for this person, and what they can do about it. */
export function providersSection(view: ProvidersSectionView): string {
  const cards =
    view.providers.length === 0
      ? '<p class="card">No services are configured on this server yet. Its operator adds them in the providers file.</p>'
      : `<ul class="cards two">${view.providers.map((p) => `<li class="card" id="provider-${escapeHtml(p.id)}">${providerCard(p, view)}</li>`).join('')}</ul>`;
  const readOnly = view.canChange ? '' : '<p class="warn">The key you signed in with cannot change connections (it lacks the “connections” permission).</p>';
  return `<section id="connections" aria-labelledby="connections-h">
<h2 id="connections-h">Connections</h2>
${readOnly}${cards}
</section>`;
}

function providerCard(p: ProviderCard, view: ProvidersSectionView): string {
  const name = escapeHtml(p.name);
  const problem = view.problem?.providerId === p.id ? view.problem.message : undefined;
  const head = `<div class="card-head"><h3>${name}</h3>${badge(p)}</div>`;
  if (p.auth === 'oauth2') return head + oauthBody(p, view, problem);
  return head + apiKeyBody(p, view, problem);
}

/** Status in words (never colour alone). */
function badge(p: ProviderCard): string {
  const s = p.status;
  if (s.needs_reauthorization) return '<span class="badge warn">Needs re-authorization</span>';
  if (s.connected && s.key_source === 'fallback') return '<span class="badge info">Using the shared key</span>';
  if (s.connected) return '<span class="badge ok">Connected</span>';
  return '<span class="badge off">Not connected</span>';
}

function oauthBody(p: ProviderCard, view: ProvidersSectionView, problem: string | undefined): string {
  const s = p.status;
  const name = escapeHtml(p.name);
  const lines: string[] = [];
  if (s.account_name && s.account_name !== s.account_id) lines.push(`<p class="meta">Account <code>${escapeHtml(s.account_name)}</code> (id ${escapeHtml(s.account_id ?? '')})</p>`);
  else if (s.account_id) lines.push(`<p class="meta">Account <code>${escapeHtml(s.account_id)}</code></p>`);
  if (s.connected_at) lines.push(`<p class="meta">Connected ${timeTag(s.connected_at)}</p>`);
  if (s.needs_reauthorization) lines.push(`<p class="warn">${name} refused to renew our access. Reconnect to keep using its tools.</p>`);
  if (!s.connected && !s.needs_reauthorization) lines.push(`<p class="meta">Connect your ${name} account so your AI client can use its tools as you.</p>`);
  if (problem) lines.push(fieldError(`provider-${p.id}-error`, problem));
  if (!view.canChange) return lines.join('');

  const connected = s.connected || s.needs_reauthorization;
  const connectLabel = connected ? `Reconnect ${name}` : `Connect ${name}`;
  const connectClass = s.connected ? ' class="secondary"' : '';
  const connect = `<form method="post" action="/dashboard/connections/${escapeHtml(p.id)}/connect">${csrfField(view.csrf)}<button type="submit"${connectClass}>${connectLabel}</button></form>`;
  const disconnect = connected
    ? confirmForm(
        `/dashboard/connections/${p.id}/disconnect`,
        view.csrf,
        'Disconnect…',
        `Disconnect ${name}? Your tokens are deleted here and revoked at ${name}; tools stop working until you connect again.`,
        `Disconnect ${name}`,
      )
    : '';
  return `${lines.join('')}<div class="actions">${connect}${disconnect}</div>`;
}

function apiKeyBody(p: ProviderCard, view: ProvidersSectionView, problem: string | undefined): string {
  const s = p.status;
  const name = escapeHtml(p.name);
  const own = s.key_source === 'user';
  const lines: string[] = [];
  if (own) lines.push(`<p class="meta">Your own key${s.key_last4 ? ` ending in <code>${escapeHtml(s.key_last4)}</code>` : ''}, saved ${timeTag(s.connected_at)}</p>`);
  else if (s.key_source === 'fallback') lines.push(`<p class="meta">This server's shared ${name} key serves you until you add your own.</p>`);
  else lines.push(`<p class="meta">${name} works with your own API key. Add it so your AI client can use ${name} tools as you.</p>`);
  if (!view.canChange) return lines.join('');

  const inputId = `key-${p.id}`;
  const errorId = `provider-${p.id}-error`;
  const hint = `${p.validates ? `It is checked with ${name} first, then` : 'It is'} stored encrypted; only its last four characters are ever shown.`;
  const form = `<form method="post" action="/dashboard/connections/${escapeHtml(p.id)}/key" class="stack">${csrfField(view.csrf)}
<div class="field"><label for="${escapeHtml(inputId)}">${own ? `Replace your ${name} API key` : `Your ${name} API key`} <span class="hint">${hint}</span></label>
<input type="password" id="${escapeHtml(inputId)}" name="api_key" autocomplete="off" spellcheck="false" required${invalidAttrs(errorId, problem)}>
${fieldError(errorId, problem)}</div>
<div class="actions"><button type="submit">${own ? 'Replace key' : 'Save key'}</button></div></form>`;
  const remove = own
    ? confirmForm(
        `/dashboard/connections/${p.id}/disconnect`,
        view.csrf,
        'Remove my key…',
        `Delete your ${name} key from this server?${p.hasFallback ? " Calls then use the server's shared key." : ` ${name} tools stop working until you add a key again.`}`,
        'Remove my key',
      )
    : '';
  return `${lines.join('')}${form}${remove ? `<div class="actions">${remove}</div>` : ''}`;
}

/** A destructive action behind a second click that works without JavaScript (details/summary). */
export function confirmForm(action: string, csrf: string, summary: string, question: string, button: string, extra = ''): string {
  return `<details class="confirm"><summary>${escapeHtml(summary)}</summary>
<form method="post" action="${escapeHtml(action)}">${csrfField(csrf)}${extra}<p>${question}</p><button type="submit" class="danger">${button}</button></form></details>`;
}
