import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { parseProviders } from '../../src/providers/load.js';
import { createRegistry } from '../../src/providers/registry.js';
import { describeEvent } from '../../src/web/pages/activity-section.js';
import { clientSettings, CURSOR_KEY_VARIABLE, KEY_PLACEHOLDER } from '../../src/web/client-settings.js';
import { noticeFrom } from '../../src/web/notices.js';
import { landingPage } from '../../src/web/pages/landing.js';
import { contentSecurityPolicy } from '../../src/web/respond.js';
import { webSessionCookie } from '../../src/web/sessions.js';

type ClaudeConfig = { mcpServers: Record<string, { command: string; args: string[]; env: Record<string, string> }> };
type CursorConfig = { mcpServers: Record<string, { url: string; headers: Record<string, string> }> };

test('client settings: Claude Desktop through mcp-remote with the header in env, Cursor with url and the key from its environment', () => {
  const settings = clientSettings('https://proxy.example', 'sk_abc_def');
  assert.equal(settings.mcpUrl, 'https://proxy.example/mcp');
  const claude = Object.values((JSON.parse(settings.claudeDesktop) as ClaudeConfig).mcpServers)[0];
  assert.equal(claude?.command, 'npx');
  assert.deepEqual(claude?.args, ['-y', 'mcp-remote', 'https://proxy.example/mcp', '--header', 'Authorization:${AUTH_HEADER}']);
  assert.deepEqual(claude?.env, { AUTH_HEADER: 'Bearer sk_abc_def' });
  const cursor = Object.values((JSON.parse(settings.cursor) as CursorConfig).mcpServers)[0];
  // The file names the variable, never the key, so a project's .cursor/mcp.json can be committed.
  assert.deepEqual(cursor, { url: 'https://proxy.example/mcp', headers: { Authorization: `Bearer \${env:${CURSOR_KEY_VARIABLE}}` } });
  assert.doesNotMatch(settings.cursor, /sk_abc_def/);
  assert.equal(settings.cursorEnv, `export ${CURSOR_KEY_VARIABLE}=sk_abc_def`);
});

test('client settings without a key carry the placeholder, and stay valid JSON whatever the key holds', () => {
  const placeholder = clientSettings('https://proxy.example', undefined);
  assert.equal((JSON.parse(placeholder.claudeDesktop) as ClaudeConfig).mcpServers['mcp-oauth-proxy']?.env.AUTH_HEADER, `Bearer ${KEY_PLACEHOLDER}`);
  assert.equal(placeholder.cursorEnv, `export ${CURSOR_KEY_VARIABLE}='${KEY_PLACEHOLDER}'`);
  const odd = clientSettings('https://proxy.example', 'sk_"quoted"\\, \'x\'');
  assert.equal((JSON.parse(odd.claudeDesktop) as ClaudeConfig).mcpServers['mcp-oauth-proxy']?.env.AUTH_HEADER, 'Bearer sk_"quoted"\\, \'x\'');
  // The shell gives back exactly the key, whatever it holds.
  const echoed = execFileSync('sh', ['-c', `${odd.cursorEnv}; printf %s "$${CURSOR_KEY_VARIABLE}"`], { encoding: 'utf8' });
  assert.equal(echoed, 'sk_"quoted"\\, \'x\'');
});

test('notices come from a fixed table: unknown codes and unknown providers show nothing', () => {
  const registry = createRegistry(
    parseProviders({ providers: [{ id: 'hitl', name: 'HITL <b>', auth: 'api_key', api_key: { header: 'X-Key' }, api_base_url: 'https://h.example', tools: [] }] }, {}),
  );
  assert.equal(noticeFrom({ notice: 'key_saved', provider: 'hitl' }, registry), 'Your HITL <b> API key was checked and saved.');
  assert.equal(noticeFrom({ notice: 'connected', provider: 'nope' }, registry), undefined);
  assert.equal(noticeFrom({ notice: 'connected' }, registry), undefined);
  assert.equal(noticeFrom({ notice: '<script>' }, registry), undefined);
  assert.equal(noticeFrom({ notice: 'toString' }, registry), undefined);
  assert.equal(noticeFrom({ notice: 'signed_out' }, registry), 'You are signed out.');
});

test('the session cookie is Secure with the __Host- prefix everywhere but on loopback', () => {
  const header = (publicUrl: string) => {
    const set: string[] = [];
    webSessionCookie(publicUrl).set({ append: (_: string, v: string) => set.push(v) } as never, 'v', new Date(Date.now() + 60_000));
    return set[0] ?? '';
  };
  assert.match(header('https://proxy.example'), /^__Host-mcp_web=v; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax; Secure$/);
  assert.match(header('http://10.0.0.5:3000'), /^__Host-mcp_web=v; .*; Secure$/, 'plain http off loopback still gets Secure');
  for (const loopback of ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000']) {
    assert.match(header(loopback), /^mcp_web=v; Path=\/; Max-Age=60; HttpOnly; SameSite=Lax$/, loopback);
  }
});

test('the page policy allows only our own files, and forms to here and the upstream logins', () => {
  const csp = contentSecurityPolicy(['https://up.example', 'https://up.example']);
  assert.match(csp, /^default-src 'self'; script-src 'self'; style-src 'self';/);
  assert.match(csp, /form-action 'self' https:\/\/up\.example;/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe/);
});

test('audit events read as sentences', () => {
  const name = (id: string) => (id === 'acme' ? 'Acme' : id);
  assert.equal(describeEvent({ type: 'connection.created', detail: { provider: 'acme', account_id: 'ada' } }, name), 'Connected Acme as ada');
  assert.equal(describeEvent({ type: 'key.revoked', detail: { name: 'ci', prefix: 'sk_x' } }, name), 'Key revoked: ci (sk_x)');
  assert.equal(describeEvent({ type: 'session.created', detail: { via: 'upstream', provider: 'acme' } }, name), 'Signed in on the web page with Acme');
  assert.equal(describeEvent({ type: 'something.new', detail: {} }, name), 'something.new');
});

test('the start page says when no services are configured, as the dashboard does', () => {
  const empty = landingPage({ csrf: 't', signInProviders: [], providerNames: [] });
  assert.match(empty, /No services are configured on this server yet/);
  const configured = landingPage({ csrf: 't', signInProviders: [{ id: 'acme', name: 'Acme' }], providerNames: ['Acme'] });
  assert.doesNotMatch(configured, /No services are configured/);
  assert.match(configured, /Sign in with Acme/);
});
