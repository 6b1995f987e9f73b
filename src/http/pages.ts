/**
 * The few HTML pages a browser sees (the OAuth callback). Every dynamic value goes through
 * `escapeHtml`: upstream `error_description` values are attacker-controlled text.
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}
h1{font-size:1.5rem}.ok{color:#146c2e}.fail{color:#a4161a}code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}`;

/** The shared frame of every HTML page; `body` must already be escaped markup. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · mcp-oauth-proxy</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

export function successPage(providerName: string, accountId: string | null): string {
  const account = accountId ? ` as <code>${escapeHtml(accountId)}</code>` : '';
  return page(
    `${providerName} connected`,
    `<h1 class="ok">${escapeHtml(providerName)} is connected${account}</h1>
<p>Your AI client can now use ${escapeHtml(providerName)} tools through this server. You can close this window.</p>`,
  );
}

export function errorPage(title: string, message: string): string {
  return page(
    title,
    `<h1 class="fail">${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
<p>Nothing was changed. To try again, request a new link from <code>GET /api/connect/&lt;provider&gt;/start</code>.</p>`,
  );
}
