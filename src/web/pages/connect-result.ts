import { escapeHtml, layout } from './layout.js';

/**
 * The pages a browser sees at the end of a connect flow the API started (the web page's own flows
 * go back to the dashboard instead). They share the web page's look and link back to it. Every
 * dynamic value goes through `escapeHtml`: upstream `error_description` values are attacker-controlled text.
 */
export { escapeHtml };

/** The shared frame of the sign-in and callback pages; `body` must already be escaped markup. */
export function page(title: string, body: string): string {
  return layout({ title, body, narrow: true });
}

export function successPage(providerName: string, accountId: string | null): string {
  const account = accountId ? ` as <code>${escapeHtml(accountId)}</code>` : '';
  return page(
    `${providerName} connected`,
    `<div class="card"><h1 class="ok">${escapeHtml(providerName)} is connected${account}</h1>
<p>Your AI client can now use ${escapeHtml(providerName)} tools through this server. You can close this window.</p>
<p><a href="/dashboard">Go to your dashboard</a> to see your connections, keys and client settings.</p></div>`,
  );
}

export function errorPage(title: string, message: string): string {
  return page(
    title,
    `<div class="card"><h1 class="fail">${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
<p>Nothing was changed. To try again, connect from <a href="/dashboard">your dashboard</a>, or request a new link with <code>GET /api/connect/&lt;provider&gt;/start</code>.</p></div>`,
  );
}
