import { clientSettings, CURSOR_KEY_VARIABLE, KEY_PLACEHOLDER } from '../client-settings.js';
import { copyButton, escapeHtml } from './layout.js';

/**
 * "Connect your AI client": Claude Desktop, Cursor, and the connector URL for ChatGPT and
 * Claude.ai, each ready to copy. `apiKey` is a key the person was just shown; without one the
 * snippets carry a placeholder and say why.
 */
export function clientSettingsSection(publicUrl: string, apiKey: string | undefined, oauthProviders: readonly string[]): string {
  const settings = clientSettings(publicUrl, apiKey);
  const keyNote = apiKey
    ? '<p>These settings contain the key shown above. Anyone with them can use your tools: keep the files private.</p>'
    : `<p>Replace <code>${escapeHtml(KEY_PLACEHOLDER)}</code> with one of your keys. This server keeps only a hash of each key and cannot fill one in for you: <a href="#keys">create a key</a> and its settings are shown filled in.</p>`;
  const signInWith = oauthProviders.length > 0 ? ` You sign in with ${escapeHtml(oauthProviders.join(' or '))} (or an API key) when the client asks.` : ' You sign in with an API key when the client asks.';
  return `<section id="clients" aria-labelledby="clients-h">
<h2 id="clients-h">Connect your AI client</h2>
${keyNote}
<div class="card">
<div class="client">
<h3>Claude Desktop</h3>
<p>Add this to <code>claude_desktop_config.json</code> (Settings → Developer → Edit Config) and restart Claude Desktop. It runs <code>mcp-remote</code> with <code>npx</code>, so Node.js must be installed.</p>
${snippet('cfg-claude', 'claude_desktop_config.json', 'Claude Desktop', settings.claudeDesktop)}
</div>
<div class="client">
<h3>Cursor</h3>
<p>Save this as <code>.cursor/mcp.json</code> in your project, or as <code>~/.cursor/mcp.json</code> for every project. It names the key instead of holding it, so the file can be committed: Cursor reads it from <code>${CURSOR_KEY_VARIABLE}</code>.</p>
${snippet('cfg-cursor', '.cursor/mcp.json', 'Cursor', settings.cursor)}
<p>Put the key in your shell profile (for example <code>~/.zshrc</code>), then restart Cursor:</p>
${snippet('cfg-cursor-env', 'shell profile', 'Cursor key', settings.cursorEnv)}
</div>
<div class="client">
<h3>ChatGPT and Claude.ai</h3>
<p>Add this URL and choose OAuth; no key is needed. ChatGPT: Settings → Apps → Advanced settings → turn on Developer mode, then Create app. Claude.ai: Settings → Connectors → Add custom connector.${signInWith}</p>
<div class="copy-row"><code id="cfg-url" class="key-value" aria-label="Connector URL">${escapeHtml(settings.mcpUrl)}</code>${copyButton('cfg-url', 'Copy URL', 'The connector URL')}</div>
</div>
</div>
</section>`;
}

function snippet(id: string, file: string, client: string, text: string): string {
  return `<div class="snippet"><div class="snippet-head"><code>${escapeHtml(file)}</code>${copyButton(id, `Copy ${client} settings`, `The ${client} settings`)}</div>
<pre tabindex="0" role="region" aria-label="${escapeHtml(client)} settings"><code id="${id}">${escapeHtml(text)}</code></pre></div>`;
}
