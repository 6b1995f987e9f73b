import { clientSettingsSection } from './client-settings-section.js';
import { escapeHtml, layout } from './layout.js';
import { secretBox } from './secret.js';

export interface RegisteredView {
  name: string | null;
  apiKey: string;
  publicUrl: string;
  /** The new session's sign-out token. */
  csrf: string;
  oauthProviderNames: readonly string[];
}

/** The answer to registering: the key, once, and the client settings filled in with it. */
export function registeredPage(view: RegisteredView): string {
  const body = `<h1>Your account is ready${view.name ? `, ${escapeHtml(view.name)}` : ''}</h1>
${secretBox('Your API key', view.apiKey, '<p class="meta">It can do everything your account can: use tools, connect accounts and manage keys. Make narrower keys for your AI clients on your dashboard.</p>')}
<p class="actions"><a class="button" href="/dashboard">Continue to your dashboard</a> <span class="muted">to connect your accounts and manage keys.</span></p>
${clientSettingsSection(view.publicUrl, view.apiKey, view.oauthProviderNames)}`;
  return layout({ title: 'Your account is ready', body, account: { name: view.name, csrf: view.csrf } });
}
