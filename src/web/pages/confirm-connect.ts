import { fieldError, invalidAttrs } from './fields.js';
import { csrfField, escapeHtml, layout } from './layout.js';

export interface ConfirmConnectView {
  state: string;
  csrf: string;
  providerName: string;
  /** The name of the user the start link was made for. */
  userName: string | null;
  /** This browser is already signed in as that user (with the `connections` permission). */
  sameUserSignedIn: boolean;
  error?: string | undefined;
}

/**
 * "Connect <upstream> to <user>": the step between an API-started connect link and the upstream
 * login. Only the key's owner can pass it (the key, or a web session of the same user), so a
 * start link sent to somebody else cannot attach their upstream account to the sender.
 */
export function confirmConnectPage(view: ConfirmConnectView): string {
  const provider = escapeHtml(view.providerName);
  const who = view.userName ? `<strong>${escapeHtml(view.userName)}</strong>` : 'the account that asked for this link';
  const hidden = `${csrfField(view.csrf)}<input type="hidden" name="state" value="${escapeHtml(view.state)}">`;
  const proof = view.sameUserSignedIn
    ? `<input type="hidden" name="use_session" value="1">
<p>You are signed in here as that account.</p>`
    : `<label for="confirm-key">The API key that started this (sk_…)</label>
<input id="confirm-key" name="api_key" type="password" autocomplete="off" spellcheck="false" required${invalidAttrs('confirm-key-error', view.error)}>
${fieldError('confirm-key-error', view.error)}`;
  const body = `<div class="card"><h1>Connect ${provider}?</h1>
<p>This will connect the ${provider} account you log in to next to ${who} on this server, and that account's AI clients will act as you at ${provider}.</p>
<p>If somebody else sent you this link, stop here: they would get access to your ${provider} account.</p>
<form method="post" action="/connect/confirm">${hidden}
${proof}
<p><button type="submit">Continue to ${provider}</button></p>
</form></div>`;
  return layout({ title: `Connect ${view.providerName}`, body, narrow: true });
}
