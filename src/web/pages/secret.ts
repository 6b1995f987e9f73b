import { copyButton, escapeHtml } from './layout.js';

/** A new API key, shown this once, with a copy button and a plain warning. */
export function secretBox(heading: string, secret: string, details = ''): string {
  return `<section class="card secret" aria-labelledby="secret-h">
<h2 id="secret-h">${escapeHtml(heading)}</h2>
<p class="warn"><strong>Copy it now: it will not be shown again.</strong> This server keeps only a hash of it, so nobody can show it to you later. Store it in a password manager.</p>
<div class="copy-row"><code id="new-key" class="key-value" aria-label="Your new API key">${escapeHtml(secret)}</code>${copyButton('new-key', 'Copy key', 'The API key')}</div>
${details}
</section>`;
}
