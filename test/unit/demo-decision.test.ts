import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideDemo, demoProvider, selfUrl } from '../../src/demo/demo-provider.js';
import { createRegistry } from '../../src/providers/registry.js';

test('the demo is on only with nothing configured outside production, unless DEMO says otherwise', () => {
  assert.equal(decideDemo(undefined, 'development', 0).enabled, true);
  assert.equal(decideDemo(undefined, 'test', 0).enabled, true);
  assert.equal(decideDemo(undefined, 'development', 1).enabled, false, 'a configured provider replaces it');
  assert.equal(decideDemo(undefined, 'production', 0).enabled, false, 'never on in production unless asked for');
  assert.equal(decideDemo(false, 'development', 0).enabled, false);
  assert.equal(decideDemo(true, 'production', 0).enabled, true, 'DEMO=true asks for it');
  assert.equal(decideDemo(true, 'development', 2).enabled, true, 'DEMO=true serves it beside real providers');
  for (const [setting, env, n] of [[undefined, 'development', 0], [undefined, 'development', 3], [false, 'development', 0], [undefined, 'production', 0]] as const) {
    assert.match(decideDemo(setting, env, n).reason, /demo upstream/, 'every decision is logged in words');
  }
});

test('the demo provider is a valid providers-file entry, never a sign-in provider, and reaches this process over loopback', () => {
  const provider = demoProvider('https://mcp.example.com', selfUrl('0.0.0.0', 3000));
  assert.equal(provider.id, 'demo');
  assert.equal(provider.demo, true);
  assert.equal(provider.authorization_url, 'https://mcp.example.com/demo/authorize', 'the browser goes to PUBLIC_URL');
  assert.equal(provider.token_url, 'http://127.0.0.1:3000/demo/token', 'tokens are fetched from ourselves directly');
  assert.equal(provider.api_base_url, 'http://127.0.0.1:3000/demo/api');
  assert.equal(selfUrl('10.1.2.3', 8080), 'http://10.1.2.3:8080');
  assert.equal(selfUrl('fd00::1', 8080), 'http://[fd00::1]:8080');
  const registry = createRegistry([provider]);
  assert.equal(registry.tool('demo_list_notes')?.readOnly, true);
  assert.equal(registry.tool('demo_add_note')?.readOnly, false);
});
