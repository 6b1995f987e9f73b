import { escapeHtml, layout } from '../web/pages/layout.js';

/** The authorization request the login form carries through, as hidden fields. */
export interface DemoAuthorizationParams {
  client_id: string;
  redirect_uri: string;
  state: string;
  scope: string;
  code_challenge: string;
  code_challenge_method: string;
}

/**
 * The demo upstream's login page. It says plainly that it is a demo: any name is an account of
 * that name (so two people trying it see two accounts) and any password is accepted.
 */
export function demoLoginPage(params: DemoAuthorizationParams, error?: string): string {
  const hidden = Object.entries(params)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
    .join('');
  return layout({
    title: 'Demo upstream: log in',
    narrow: true,
    body: `<div class="card"><p class="warn"><strong>Demo upstream.</strong> This is not a real service: it is built into this
server so you can try connecting an account without one. Any name is a demo account of that name
(try <code>alice</code> or <code>bob</code>); any password works. Its notes are stored on this server.</p>
<h1>Log in to the demo</h1>
${error ? `<div class="alert" role="alert">${escapeHtml(error)}</div>` : ''}
<form method="post" action="/demo/authorize">${hidden}
<div class="field"><label for="demo-login">Demo account name</label><input type="text" id="demo-login" name="login" autocomplete="username" required maxlength="40" pattern="[A-Za-z0-9._\\-]{1,40}"></div>
<div class="field"><label for="demo-password">Password (anything)</label><input type="password" id="demo-password" name="password" autocomplete="off"></div>
<div class="actions"><button class="primary" type="submit" name="decision" value="allow">Log in and allow access to notes</button>
<button class="secondary" type="submit" name="decision" value="deny">Deny</button></div>
</form></div>`,
  });
}

/** A request that cannot be sent back to its client (unknown client or redirect URI: RFC 6749 §4.1.2.1). */
export function demoErrorPage(message: string): string {
  return layout({
    title: 'Demo upstream: error',
    narrow: true,
    body: `<div class="card"><h1 class="fail">The demo cannot continue</h1><p>${escapeHtml(message)}</p></div>`,
  });
}
