import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { bearer, register, registerAndConnect, startAppWithUpstream } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

describe('MCP tool calls run as the key’s user', () => {
  let f: Fixture;
  let alice: Client;
  let bob: Client;
  let aliceKey: string;

  before(async () => {
    f = await startAppWithUpstream();
    aliceKey = (await registerAndConnect(f.app, 'alice')).apiKey;
    alice = await connectMcp(f.app.url, aliceKey);
    bob = await connectMcp(f.app.url, (await registerAndConnect(f.app, 'bob')).apiKey);
  });
  after(async () => {
    await alice.close();
    await bob.close();
    await f.close();
  });

  it('lists the provider tools with JSON input schemas', async () => {
    const { tools } = await alice.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['echo', 'get_item', 'large', 'status', 'whoami']);
    const getItem = tools.find((t) => t.name === 'get_item');
    assert.deepEqual(getItem?.inputSchema, {
      type: 'object',
      properties: { id: { type: 'string', description: 'Item id' }, q: { type: 'string' } },
      required: ['id'],
      additionalProperties: false,
    });
    assert.equal(getItem?.annotations?.readOnlyHint, true);
    assert.equal(alice.getServerVersion()?.name, 'mcp-oauth-proxy');
  });

  it('two users each see only their own upstream account', async () => {
    const [a, b] = await Promise.all([alice.callTool({ name: 'whoami', arguments: {} }), bob.callTool({ name: 'whoami', arguments: {} })]);
    assert.equal(a.isError, undefined);
    assert.deepEqual(JSON.parse(textOf(a)), { id: 'alice', login: 'alice' });
    assert.deepEqual(JSON.parse(textOf(b)), { id: 'bob', login: 'bob' });
  });

  it('path params are encoded into their segment, query and body params are sent', async () => {
    const item = await alice.callTool({ name: 'get_item', arguments: { id: 'a/b c', q: 'x&y=1' } });
    assert.deepEqual(JSON.parse(textOf(item)), { id: 'a/b c', q: 'x&y=1', owner: 'alice' });
    const seen = f.upstream.apiRequests.at(-1);
    assert.equal(seen?.path, '/api/items/a%2Fb%20c?q=x%26y%3D1');
    const echo = await alice.callTool({ name: 'echo', arguments: { message: 'hi', count: 2 } });
    assert.deepEqual(JSON.parse(textOf(echo)), { owner: 'alice', body: { message: 'hi', count: 2 } });
  });

  it('a tool can never leave api_base_url', async () => {
    const before = f.upstream.apiRequests.length;
    for (const id of ['..', '.', '%2e%2e']) {
      const result = await alice.callTool({ name: 'get_item', arguments: { id } });
      assert.equal(result.isError, true, id);
      assert.match(textOf(result), /not a valid path segment/);
    }
    assert.equal(f.upstream.apiRequests.length, before, 'nothing went upstream');
  });

  it('arguments are validated before anything goes upstream', async () => {
    const before = f.upstream.apiRequests.length;
    const cases = [
      { name: 'get_item', arguments: {} },
      { name: 'get_item', arguments: { id: 5 } },
      { name: 'echo', arguments: { message: 'x', count: 1.5 } },
      { name: 'echo', arguments: { message: 'x', unexpected: true } },
    ];
    for (const call of cases) {
      const result = await alice.callTool(call);
      assert.equal(result.isError, true, JSON.stringify(call));
      assert.match(textOf(result), /^Invalid arguments for /);
    }
    assert.equal(f.upstream.apiRequests.length, before);
  });

  it('upstream non-2xx becomes isError with the status, an excerpt and Retry-After', async () => {
    const notFound = await alice.callTool({ name: 'status', arguments: { code: 404 } });
    assert.equal(notFound.isError, true);
    assert.match(textOf(notFound), /Acme answered HTTP 404/);
    assert.match(textOf(notFound), /"owner":"alice"/);
    const limited = await alice.callTool({ name: 'status', arguments: { code: 429 } });
    assert.match(textOf(limited), /HTTP 429\. Retry after 7 seconds/);
  });

  it('large upstream responses are capped', async () => {
    const result = await alice.callTool({ name: 'large', arguments: {} });
    const text = textOf(result);
    assert.ok(text.length < 300 * 1024, `result is ${text.length} characters`);
    assert.match(text, /\[truncated: the response was larger than the 256 KB limit\]$/);
  });

  it('an unknown tool is a protocol error', async () => {
    await assert.rejects(alice.callTool({ name: 'nope', arguments: {} }), /Unknown tool: nope/);
  });

  it('a user who has not connected is told how to connect', async () => {
    const { apiKey } = await register(f.app);
    const carol = await connectMcp(f.app.url, apiKey);
    const result = await carol.callTool({ name: 'whoami', arguments: {} });
    await carol.close();
    assert.equal(result.isError, true);
    assert.match(textOf(result), new RegExp(`not connected Acme yet\\. Open ${f.app.url}/dashboard#connections in your browser.*From a script: GET ${f.app.url}/api/connect/acme/start`));
  });

  it('after DELETE, tool calls stop working and say how to reconnect', async () => {
    const { apiKey } = await registerAndConnect(f.app, 'dora');
    const dora = await connectMcp(f.app.url, apiKey);
    assert.equal((await dora.callTool({ name: 'whoami', arguments: {} })).isError, undefined);
    const del = await fetch(`${f.app.url}/api/connect/acme`, { method: 'DELETE', headers: bearer(apiKey) });
    assert.equal(del.status, 200);
    const result = await dora.callTool({ name: 'whoami', arguments: {} });
    await dora.close();
    assert.equal(result.isError, true);
    assert.match(textOf(result), /api\/connect\/acme\/start/);
  });
});
