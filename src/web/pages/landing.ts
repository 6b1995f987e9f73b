import { csrfField, escapeHtml, layout } from './layout.js';
import { fieldError, invalidAttrs } from './fields.js';

export interface LandingView {
  csrf: string;
  /** Providers a person can sign in with (OAuth ones). */
  signInProviders: ReadonlyArray<{ id: string; name: string }>;
  /** The organisation's identity provider, when signing in with it is offered. */
  idpName?: string | undefined;
  /** Every configured provider's name, for the explanation. */
  providerNames: readonly string[];
  notice?: string | undefined;
  /** Inline errors of the form that was just sent. */
  errors?: { register?: string; apiKey?: string; upstream?: string };
  /** What the person typed, kept (never a secret). */
  values?: { name?: string };
}

/** `/`: what this is, in one screen, and the three ways in (register, API key, upstream login). */
export function landingPage(view: LandingView): string {
  const errors = view.errors ?? {};
  const tools = view.providerNames.length > 0 ? `tools for ${escapeHtml(joinNames(view.providerNames))}` : 'tools for the services this server connects to';
  const first = view.signInProviders[0]?.name;
  const idpForm = view.idpName
    ? `<form method="post" action="/sign-in/idp">${csrfField(view.csrf)}
<div class="actions"><button type="submit" class="primary">Sign in with ${escapeHtml(view.idpName)}</button></div>
<p class="hint">Your organisation's account. The first sign-in creates your account here.</p>
</form>${view.signInProviders.length === 0 ? '\n<p class="muted">Or use an API key:</p>' : ''}`
    : '';
  const upstreamForms =
    view.signInProviders.length > 0
      ? `<form method="post" action="/sign-in/upstream">${csrfField(view.csrf)}
<div class="actions">${view.signInProviders.map((p) => `<button type="submit" class="secondary" name="provider" value="${escapeHtml(p.id)}">Sign in with ${escapeHtml(p.name)}</button>`).join('')}</div>
${fieldError('upstream-error', errors.upstream)}
<p class="hint">New here? Signing in with ${escapeHtml(joinNames(view.signInProviders.map((p) => p.name), 'or'))} creates your account and connects it in one step.</p>
</form>
<p class="muted">Or use an API key:</p>`
      : '';

  // Said up front, as the dashboard does: otherwise a first visitor registers and finds nothing to connect.
  const noServices =
    view.providerNames.length === 0
      ? `<p class="card" id="no-services">No services are configured on this server yet, so there is nothing to connect and no tools to use. Its operator adds them in the providers file.</p>`
      : '';
  const body = `${view.notice ? `<div class="notice" role="status">${escapeHtml(view.notice)}</div>` : ''}
<h1>Your AI client, with your own accounts</h1>
<p class="lead">This server gives AI clients such as Claude Desktop, Cursor, ChatGPT and Claude.ai ${tools}. Each person connects their own account, and every tool call runs as them: with their access, never anyone else's.</p>
${noServices}
<ol class="steps">
<li><strong>Create an account</strong> and get your API key.</li>
<li><strong>Connect</strong> ${first ? `your ${escapeHtml(first)} account` : 'your accounts'}, or add an API key for a service.</li>
<li><strong>Copy the settings</strong> into your AI client.</li>
</ol>
<div class="grid two">
<section class="card" aria-labelledby="register-h">
<h2 id="register-h">Create an account</h2>
<p>You get an API key at once. It is shown only once, so have a password manager ready.</p>
<form method="post" action="/register" novalidate>${csrfField(view.csrf)}
<div class="field"><label for="reg-name">Your name <span class="hint">Optional. Shown only to you and this server's operator.</span></label>
<input type="text" id="reg-name" name="name" maxlength="100" autocomplete="name" value="${escapeHtml(view.values?.name ?? '')}"${invalidAttrs('reg-name-error', errors.register)}>
${fieldError('reg-name-error', errors.register)}</div>
<button type="submit">Create my account</button>
</form>
</section>
<section class="card" aria-labelledby="signin-h">
<h2 id="signin-h">Sign in</h2>
${idpForm}
${upstreamForms}
<form method="post" action="/sign-in">${csrfField(view.csrf)}
<div class="field"><label for="signin-key">API key <span class="hint">An <code>sk_…</code> key that can manage keys, such as the one you got when you registered.</span></label>
<input type="password" id="signin-key" name="api_key" autocomplete="current-password" spellcheck="false" required${invalidAttrs('signin-key-error', errors.apiKey)}>
${fieldError('signin-key-error', errors.apiKey)}</div>
<button type="submit">Sign in with key</button>
</form>
</section>
</div>`;
  return layout({ title: 'Welcome', body });
}

function joinNames(names: readonly string[], word = 'and'): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} ${word} ${names.at(-1)}`;
}
