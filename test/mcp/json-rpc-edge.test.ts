import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Issue 18 item 11, through POST /mcp: an empty batch is one Invalid Request error (JSON-RPC 2.0
 * §6), and ids are echoed exactly as sent, also integers beyond 2^53 — on the fast path (ping) and
 * on the SDK path (initialize, batches). Both are deliberate differences from the bare SDK, which
 * answers `[]` with 202 and echoes `12345678901234567890` as `12345678901234567000`.
 */
describe('JSON-RPC edge cases on /mcp', () => {
  let db: TestDatabase;
  let app: TestApp;
  let apiKey: string;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, providers: [] });
    ({ apiKey } = await register(app, 'rpc'));
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  const mcp = (text: string) =>
    fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      body: text,
    });

  it('an empty batch gets a single Invalid Request error with id null', async () => {
    const res = await mcp('[]');
    assert.equal(res.status, 400);
    const body = (await res.json()) as { jsonrpc: string; id: unknown; error: { code: number; message: string } };
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.id, null);
    assert.equal(body.error.code, -32600);
    assert.match(body.error.message, /Invalid Request/);
  });

  it('a large numeric id is echoed digit for digit, on the fast path and through the SDK', async () => {
    const big = '12345678901234567890';
    const ping = await mcp(`{"jsonrpc":"2.0","id":${big},"method":"ping"}`);
    assert.equal(ping.status, 200);
    const pingText = await ping.text();
    assert.equal(pingText, `{"result":{},"jsonrpc":"2.0","id":${big}}`);
    assert.equal(ping.headers.get('content-length'), String(Buffer.byteLength(pingText)));

    const init = await mcp(`{"jsonrpc":"2.0","id":-${big}1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`);
    assert.equal(init.status, 200);
    const initText = await init.text();
    assert.match(initText, new RegExp(`"id":-${big}1[}]$`));
    assert.equal((JSON.parse(initText) as { result: { serverInfo: { name: string } } }).result.serverInfo.name, 'mcp-oauth-proxy');

    // A batch through the SDK: each answer carries its own exact id; a small id stays as it was.
    const batch = await mcp(`[{"jsonrpc":"2.0","id":${big},"method":"ping"},{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/list"}]`);
    assert.equal(batch.status, 200);
    const batchText = await batch.text();
    assert.ok(batchText.includes(`"id":${big}`), batchText);
    assert.ok(batchText.includes('"id":7'), batchText);
    assert.ok(batchText.includes('"id":9007199254740993'), batchText);
    assert.ok(!batchText.includes('mcp-exact-id'), 'no placeholder leaks');
    assert.equal((JSON.parse(batchText) as unknown[]).length, 3);
  });
});
