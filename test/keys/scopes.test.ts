import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerAndConnect, startAppWithUpstream } from '../support/app.js';
import { call, createKey } from '../support/api-client.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

describe('scopes are enforced on every route', () => {
  let f: Fixture;
  let owner: string;
  const keyWith: Record<string, string> = {};

  before(async () => {
    f = await startAppWithUpstream();
    owner = (await registerAndConnect(f.app, 'scoped')).apiKey;
    for (const scope of ['tools:read', 'tools:write', 'connections', 'keys']) keyWith[scope] = (await createKey(f.app.url, owner, { scopes: [scope] })).api_key;
  });
  after(() => f.close());

  const routes: Array<{ method: string; path: string; scope: string; body?: unknown }> = [
    { method: 'GET', path: '/api/connect/acme/start', scope: 'connections' },
    { method: 'GET', path: '/api/connect/acme/status', scope: 'connections' },
    { method: 'DELETE', path: '/api/connect/nope', scope: 'connections' },
    { method: 'GET', path: '/api/keys', scope: 'keys' },
    { method: 'POST', path: '/api/keys', scope: 'keys', body: { scopes: ['keys'] } },
    { method: 'DELETE', path: '/api/keys/00000000-0000-4000-8000-000000000000', scope: 'keys' },
    { method: 'POST', path: '/api/keys/00000000-0000-4000-8000-000000000000/rotate', scope: 'keys', body: {} },
    { method: 'GET', path: '/api/audit', scope: 'keys' },
  ];

  for (const route of routes) {
    it(`${route.method} ${route.path} needs "${route.scope}": 403 insufficient_scope without it`, async () => {
      for (const [scope, key] of Object.entries(keyWith)) {
        const res = await call(f.app.url, route.method, route.path, { key, ...(route.body ? { body: route.body } : {}) });
        if (scope === route.scope) {
          assert.ok(res.status !== 401 && res.status !== 403, `${scope}: ${res.status} ${JSON.stringify(res.body)}`);
        } else {
          assert.equal(res.status, 403, `${scope} must be refused`);
          assert.equal(res.body.error, 'insufficient_scope');
          assert.match(String(res.body.error_description), new RegExp(route.scope));
        }
      }
    });
  }

  it('/mcp refuses a key with neither tools scope (403 insufficient_scope)', async () => {
    for (const scope of ['connections', 'keys']) {
      const res = await call(f.app.url, 'POST', '/mcp', {
        key: keyWith[scope] as string,
        headers: { accept: 'application/json, text/event-stream' },
        body: { jsonrpc: '2.0', id: 1, method: 'ping' },
      });
      assert.equal(res.status, 403, scope);
      assert.equal(res.body.error, 'insufficient_scope');
    }
  });

  it('a tools:read key lists only GET tools and cannot call echo; tools:write can', async () => {
    const reader = await connectMcp(f.app.url, keyWith['tools:read'] as string);
    const writer = await connectMcp(f.app.url, keyWith['tools:write'] as string);
    try {
      const { tools } = await reader.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), ['get_item', 'large', 'status', 'whoami']);
      const whoami = await reader.callTool({ name: 'whoami', arguments: {} });
      assert.deepEqual(JSON.parse(textOf(whoami)), { id: 'scoped', login: 'scoped' });

      const before = f.upstream.apiRequests.length;
      const echo = await reader.callTool({ name: 'echo', arguments: { message: 'hi' } });
      assert.equal(echo.isError, true);
      assert.match(textOf(echo), /insufficient_scope/);
      assert.equal(f.upstream.apiRequests.length, before, 'nothing went upstream');

      assert.ok((await writer.listTools()).tools.some((t) => t.name === 'echo'));
      const written = await writer.callTool({ name: 'echo', arguments: { message: 'hi' } });
      assert.equal(written.isError, undefined);
      assert.deepEqual(JSON.parse(textOf(written)).body, { message: 'hi' });
    } finally {
      await reader.close();
      await writer.close();
    }
  });
});
