import type { AuditEvent } from '../../audit/audit-store.js';
import type { AuditDetail } from '../../audit/events.js';
import type { DashboardData } from '../dashboard-data.js';
import { escapeHtml, timeTag } from './layout.js';

/** "Activity": tool calls over the last 30 days and the latest security events. */
export function activitySection(data: Pick<DashboardData, 'events' | 'usage' | 'usageRange'>, providerName: (id: string) => string): string {
  const usage =
    data.usage.length === 0
      ? '<p class="card">No tool calls in the last 30 days.</p>'
      : table(
          `Tool calls from ${data.usageRange.from} to ${data.usageRange.to} (UTC)`,
          ['Service', 'Tool', 'Succeeded', 'Failed'],
          data.usage.map((u) => [escapeHtml(providerName(u.provider)), `<code>${escapeHtml(u.tool)}</code>`, String(u.ok), String(u.error)]),
          [2, 3],
        );
  const events =
    data.events.length === 0
      ? '<p class="card">Nothing yet.</p>'
      : table(
          'Latest events, newest first',
          ['When', 'What', 'Key', 'From'],
          data.events.map((e) => [timeTag(e.at), escapeHtml(describeEvent(e, providerName)), e.keyPrefix ? `<code>${escapeHtml(e.keyPrefix)}</code>` : '—', escapeHtml(e.ip ?? '—')]),
        );
  return `<section id="activity" aria-labelledby="activity-h">
<h2 id="activity-h">Activity</h2>
<h3>Usage</h3>
${usage}
<h3>Security events</h3>
${events}
<p class="meta">The full log is at <code>GET /api/audit</code> and daily usage at <code>GET /api/usage</code>.</p>
</section>`;
}

function table(caption: string, headers: readonly string[], rows: ReadonlyArray<readonly string[]>, numeric: readonly number[] = []): string {
  const cls = (i: number) => (numeric.includes(i) ? ' class="num"' : '');
  // Explicit roles: on phones the rows are restyled as blocks, which would otherwise drop the table semantics.
  return `<div class="table-wrap" role="region" aria-label="${escapeHtml(caption)}" tabindex="0"><table class="stacked" role="table">
<caption>${escapeHtml(caption)}</caption>
<thead role="rowgroup"><tr role="row">${headers.map((h, i) => `<th scope="col" role="columnheader"${cls(i)}>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody role="rowgroup">${rows.map((r) => `<tr role="row">${r.map((cell, i) => `<td role="cell" data-label="${escapeHtml(headers[i] ?? '')}"${cls(i)}>${cell}</td>`).join('')}</tr>`).join('')}</tbody>
</table></div>`;
}

const text = (detail: AuditDetail, field: string): string | undefined => {
  const value = detail[field];
  return typeof value === 'string' ? value : undefined;
};

/** One audit event in words (plain text; the caller escapes it). */
export function describeEvent(event: Pick<AuditEvent, 'type' | 'detail'>, providerName: (id: string) => string): string {
  const d = event.detail;
  const key = `${text(d, 'name') ?? 'unnamed key'} (${text(d, 'prefix') ?? '?'})`;
  const provider = providerName(text(d, 'provider') ?? '?');
  switch (event.type) {
    case 'key.created':
      return `Key created: ${key}`;
    case 'key.rotated':
      return `Key rotated: ${text(d, 'prefix') ?? '?'} replaced by ${text(d, 'new_prefix') ?? '?'}`;
    case 'key.revoked':
      return `Key revoked: ${key}`;
    case 'connection.created':
      return `Connected ${provider}${text(d, 'account_id') ? ` as ${text(d, 'account_id')}` : ''}`;
    case 'connection.revoked':
      return `Disconnected ${provider}`;
    case 'connection.reauth_required':
      return `${provider} needs re-authorization`;
    case 'user.disabled':
      return 'Account disabled by the operator';
    case 'user.enabled':
      return 'Account enabled by the operator';
    case 'session.created': {
      const via = text(d, 'via');
      if (via === 'upstream') return `Signed in on the web page with ${provider}`;
      if (via === 'register') return 'Registered and signed in on the web page';
      return 'Signed in on the web page with an API key';
    }
    default:
      return event.type;
  }
}
