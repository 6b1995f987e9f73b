import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { MANY_IN_FLIGHT, register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { callApi } from '../support/json-api.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { createKey } from '../support/api-client.js';
import { startMcpUpstream, type McpUpstream } from './support/mcp-upstream.js';

const KEYS: Record<string, string> = { 'Bearer mk_alice_0123456789': 'alice', 'Bearer mk_bob_9876543210': 'bob' };

/**
 * Remote MCP servers as upstreams (issue 12), with a static per-user key and with no auth: a
 * real MCP SDK server is the upstream, the real SDK client talks to /mcp.
 */
describe('remote MCP upstreams with an API key, and with no auth', () => {
  let db: TestDatabase;
  let app: TestApp;
  let keyed: McpUpstream;
  let open: McpUpstream;
  let sse: McpUpstream;
  const clients: Client[] = [];

  before(async () => {
    db = await createTestDatabase();
    keyed = await startMcpUpstream({ verify: (auth) => (auth ? KEYS[auth] : undefined) });
    open = await startMcpUpstream({ verify: () => 'anyone' });
    sse = await startMcpUpstream({ verify: () => 'streamer', sse: true });
    app = await startApp({
      databaseUrl: db.url,
      limits: { apiTimeoutMs: 2_000, ...MANY_IN_FLIGHT },
      providers: [
        { id: 'notes', name: 'Notes', auth: 'api_key', mcp_url: keyed.url, api_key: { header: 'Authorization', template: 'Bearer {key}' } },
        { id: 'open', name: 'Open MCP', auth: 'none', mcp_url: open.url, tool_prefix: 'o_', exclude: ['fail'] },
        { id: 'stream', name: 'Streamer', auth: 'none', mcp_url: sse.url, include: ['whoami'] },
      ],
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app.close();
    await Promise.all([keyed.close(), open.close(), sse.close()]);
    await db.drop();
  });

  async function user(name: string, upstreamKey?: string): Promise<{ apiKey: string; mcp: Client }> {
    const { apiKey } = await register(app, name);
    if (upstreamKey) {
      const res = await callApi(app.url, 'PUT', '/api/connect/notes/key', { key: apiKey, body: { api_key: upstreamKey } });
      assert.equal(res.status, 200, res.text);
    }
    const mcp = await connectMcp(app.url, apiKey);
    clients.push(mcp);
    return { apiKey, mcp };
  }

  it('lists the upstream tools under the prefix, with their schemas and annotations, after include/exclude', async () => {
    const { mcp } = await user('lister', 'mk_alice_0123456789');
    const names = (await mcp.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['notes_fail', 'notes_whoami', 'notes_write_note', 'o_whoami', 'o_write_note', 'stream_whoami']);
    const whoami = (await mcp.listTools()).tools.find((t) => t.name === 'notes_whoami');
    assert.equal(whoami?.annotations?.readOnlyHint, true);
    assert.deepEqual(whoami?.outputSchema?.required, ['account']);
  });

  it('forwards calls with each user’s own key, results unchanged (structuredContent, _meta, isError)', async () => {
    const alice = await user('alice', 'mk_alice_0123456789');
    const bob = await user('bob', 'mk_bob_9876543210');
    const a = await alice.mcp.callTool({ name: 'notes_whoami', arguments: {} });
    assert.deepEqual(a.structuredContent, { account: 'alice' });
    const b = await bob.mcp.callTool({ name: 'notes_write_note', arguments: { text: 'hi' } });
    assert.equal(textOf(b), 'bob wrote hi');
    assert.deepEqual(b._meta, { 'example.com/note': 'hi' });
    const failed = await bob.mcp.callTool({ name: 'notes_fail', arguments: {} });
    assert.equal(failed.isError, true);
    assert.equal(textOf(failed), 'it failed upstream');
    assert.ok(keyed.authorizations.includes('Bearer mk_bob_9876543210'));
  });

  it('keeps 200 interleaved concurrent calls of two users apart', async () => {
    const alice = await user('alice2', 'mk_alice_0123456789');
    const bob = await user('bob2', 'mk_bob_9876543210');
    const calls = Array.from({ length: 200 }, (_, i) => {
      const who = i % 2 === 0 ? alice : bob;
      return who.mcp.callTool({ name: 'notes_whoami', arguments: {} }).then((r) => [i % 2 === 0 ? 'alice' : 'bob', (r.structuredContent as { account: string }).account]);
    });
    for (const [expected, got] of await Promise.all(calls)) assert.equal(got, expected);
  });

  it('shows one connect tool to a user without a key, which says how to set one', async () => {
    const { mcp } = await user('keyless');
    const names = (await mcp.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('notes_connect'));
    assert.ok(!names.includes('notes_whoami'));
    const how = await mcp.callTool({ name: 'notes_connect', arguments: {} });
    assert.match(textOf(how), /PUT .*\/api\/connect\/notes\/key/);
    const refused = await mcp.callTool({ name: 'notes_whoami', arguments: {} });
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /not set a Notes API key/);
  });

  it('gives a tools:read key only the readOnlyHint tools, and refuses the others', async () => {
    const { apiKey } = await user('reader', 'mk_alice_0123456789');
    const readKey = await createKey(app.url, apiKey, { scopes: ['tools:read'] });
    const mcp = await connectMcp(app.url, readKey.api_key);
    clients.push(mcp);
    const names = (await mcp.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['notes_whoami', 'o_whoami', 'stream_whoami']);
    const refused = await mcp.callTool({ name: 'notes_write_note', arguments: { text: 'x' } });
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /tools:write/);
  });

  it('reads SSE answers', async () => {
    const { mcp } = await user('streamer');
    const r = await mcp.callTool({ name: 'stream_whoami', arguments: {} });
    assert.deepEqual(r.structuredContent, { account: 'streamer' });
  });

  it('re-initialises when the upstream forgot the session (404)', async () => {
    const { mcp } = await user('sessions');
    assert.equal(textOf(await mcp.callTool({ name: 'o_whoami', arguments: {} })), 'anyone');
    const before = open.initializations;
    open.expireSessions();
    assert.equal(textOf(await mcp.callTool({ name: 'o_whoami', arguments: {} })), 'anyone');
    assert.equal(open.initializations, before + 1);
  });

  it('finds a tool added upstream when a call names it', async () => {
    const { mcp } = await user('adder');
    await mcp.listTools();
    open.addTool('added_later');
    const r = await mcp.callTool({ name: 'o_added_later', arguments: {} });
    assert.equal(r.isError, undefined);
    assert.equal(textOf(r), 'added_later works');
  });

  it('turns an upstream that is down into an isError result naming it', async () => {
    const { mcp } = await user('outage');
    assert.equal(textOf(await mcp.callTool({ name: 'o_whoami', arguments: {} })), 'anyone');
    open.setStatus(503);
    try {
      const r = await mcp.callTool({ name: 'o_whoami', arguments: {} });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /Open MCP answered HTTP 503/);
    } finally {
      open.setStatus(undefined);
    }
  });
});
