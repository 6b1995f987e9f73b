import type { ConsentView } from '../oauth-server/authorize.js';
import { isLoopbackRedirect, redirectTarget } from '../oauth-server/redirect-uris.js';
import { SCOPE_WORDS, type OAuthScope } from '../oauth-server/scopes.js';
import { escapeHtml, page } from './pages.js';

/** The consent page: who asks, what for, where the browser goes next, and how to sign in. */
export function consentPage(view: ConsentView): string {
  const { request, handle, csrf, sessionUser, providers } = view;
  const client = request.client;
  const name = client.clientName ?? 'An application';
  const hidden = (decision: string) =>
    `<input type="hidden" name="request" value="${escapeHtml(handle)}"><input type="hidden" name="csrf_token" value="${escapeHtml(csrf)}"><input type="hidden" name="decision" value="${decision}">`;
  const providerSelect =
    providers.length > 1
      ? `<label>Account to connect if you have none yet<select name="provider">${providers.map((p) => `<option value="${escapeHtml(p.id)}">${escapeHtml(p.name)}</option>`).join('')}</select></label>`
      : '';
  const identity =
    client.kind === 'metadata_document'
      ? `<p>Identified by its metadata at <code>${escapeHtml(new URL(client.clientId).host)}</code>.</p>`
      : '';
  // Desktop clients answer every 401 with this page, also a wrong API key in their settings, and
  // mcp-remote keeps sending that key after the sign-in: this page is where the user can learn why.
  const loopbackWarning = isLoopbackRedirect(request.redirectUri)
    ? '<p class="warn">This application receives the answer on your own computer (localhost). Continue only if you just started this sign-in yourself.</p>' +
      '<p><small>Did this page open by itself although your client is set up with an API key (for example Claude Desktop through mcp-remote with an Authorization header)? Then that key is wrong, expired or revoked, and signing in here will not fix it: replace the key in the client’s settings.</small></p>'
    : '';

  const sections: string[] = [];
  if (sessionUser) {
    sections.push(`<form method="post" action="/oauth/authorize/decision">${hidden('allow_session')}${providerSelect}
<button class="primary" type="submit">Allow as ${escapeHtml(sessionUser.name ?? 'your account')}</button></form>`);
  }
  if (providers.length > 0) {
    sections.push(`<form method="post" action="/oauth/authorize/decision">${hidden('allow')}
${providers.map((p) => `<button class="${sessionUser ? 'secondary' : 'primary'}" type="submit" name="provider" value="${escapeHtml(p.id)}">Allow and sign in with ${escapeHtml(p.name)}</button>`).join('\n')}</form>`);
  }
  sections.push(`<details class="more"${providers.length === 0 && !sessionUser ? ' open' : ''}><summary>I already have an API key (sk_…) for this server</summary>
<form method="post" action="/oauth/authorize/decision">${hidden('allow_key')}
<div class="field"><label>API key<input type="password" name="api_key" autocomplete="off" required></label></div>${providerSelect}
<button class="secondary" type="submit">Allow with this key</button></form></details>`);
  sections.push(`<form method="post" action="/oauth/authorize/decision">${hidden('deny')}<button class="secondary" type="submit">Deny</button></form>`);

  return page(
    `Allow ${name}?`,
    `<div class="card consent"><h1>Allow ${escapeHtml(name)} to use your tools?</h1>
${identity}
<p><strong>${escapeHtml(name)}</strong> will be able to:</p>
<ul>${request.scopes.map((s) => `<li>${escapeHtml(SCOPE_WORDS[s as OAuthScope])}</li>`).join('')}</ul>
<p>After you decide, you will be sent back to <code>${escapeHtml(redirectTarget(request.redirectUri))}</code><br><small>${escapeHtml(request.redirectUri)}</small></p>
${loopbackWarning}
<div class="stack">${sections.join('\n')}</div></div>`,
  );
}

/** An authorization that cannot go back to the client: shown here, never redirected. */
export function signInErrorPage(title: string, message: string): string {
  return page(title, `<div class="card"><h1 class="fail">${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p></div>`);
}
