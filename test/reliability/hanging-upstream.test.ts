import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { bearer, register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

/** Calls left hanging on the stuck provider at once (more than the database pool's 10 connections). */
const HANGING_CALLS = 24;
/** The upstream timeout, shortened from 30 s so the hanging calls end within the test. */
const API_TIMEOUT_MS = 4_000;

/**
 * Issue 15, slow upstreams: one provider's upstream accepts requests and never answers. While a
 * user has 24 calls hanging there, another user's calls to another provider and database-backed
 * API requests are answered, correctly (whatever per-user cap applies to the first user); the
 * hanging calls end as `isError` results, and the database pool never has a waiting client (a
 * hanging call holds no database connection). Figures in the test's diagnostics and docs/reliability.md.
 */
describe('a hanging upstream does not slow other providers or take the database pool', () => {
  let db: TestDatabase;
  let app: TestApp;
  const held: http.ServerResponse[] = [];
  const stuck = http.createServer((_req, res) => void held.push(res)); // never answers
  const healthy = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url })));
  let hanger: Client;
  let other: Client;
  let otherKey: string;

  const listen = async (server: http.Server) => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const provider = (id: string, base: string) => ({
    id,
    name: id,
    auth: 'api_key',
    api_key: { header: 'Authorization', template: 'Bearer {key}' },
    fallback_key: 'operator-key',
    api_base_url: base,
    tools: [{ name: `${id}_get`, description: 'One item', method: 'GET', path: '/items/{id}', params: { id: { type: 'string', in: 'path', required: true } } }],
  });

  before(async () => {
    const [stuckUrl, healthyUrl] = await Promise.all([listen(stuck), listen(healthy)]);
    db = await createTestDatabase();
    app = await startApp({
      databaseUrl: db.url,
      providers: [provider('stuck', stuckUrl), provider('fine', healthyUrl)],
      limits: { apiTimeoutMs: API_TIMEOUT_MS },
    });
    const [a, b] = [await register(app, 'hanger'), await register(app, 'other')];
    otherKey = b.apiKey;
    hanger = await connectMcp(app.url, a.apiKey);
    other = await connectMcp(app.url, b.apiKey);
  });
  after(async () => {
    await Promise.all([hanger.close(), other.close()]);
    await app.close();
    for (const server of [stuck, healthy]) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await db.drop();
  });

  it(`${HANGING_CALLS} calls hanging on one provider: other calls and the API are answered`, async (t) => {
    const hanging = Array.from({ length: HANGING_CALLS }, (_, i) => hanger.callTool({ name: 'stuck_get', arguments: { id: `h${i}` } }, undefined, { timeout: 30_000 }));
    // Wait until the stuck upstream holds every call it is going to get.
    const deadline = Date.now() + API_TIMEOUT_MS / 2;
    while (held.length < HANGING_CALLS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const heldAtStart = held.length;
    assert.ok(heldAtStart > 0, 'the stuck upstream holds calls');

    const started = Date.now();
    let poolWaiting = 0;
    const sample = setInterval(() => (poolWaiting = Math.max(poolWaiting, app.pool.waitingCount)), 10);
    try {
      for (let i = 0; i < 10; i++) {
        const [theirs, keys] = await Promise.all([
          other.callTool({ name: 'fine_get', arguments: { id: `o${i}` } }),
          fetch(`${app.url}/api/keys`, { headers: bearer(otherKey) }),
        ]);
        assert.equal(theirs.isError, undefined, textOf(theirs));
        assert.deepEqual(JSON.parse(textOf(theirs)), { path: `/items/o${i}` });
        assert.equal(keys.status, 200);
      }
    } finally {
      clearInterval(sample);
    }
    const servedMs = Date.now() - started;
    const stillHeld = held.filter((res) => !res.destroyed && !res.socket?.destroyed).length;

    const results = await Promise.all(hanging);
    assert.ok(results.every((r) => r.isError === true), 'every hanging call ends as an error result');
    t.diagnostic(
      `10 rounds (another user's call to the other provider + GET /api/keys) in ${servedMs} ms ` +
        `while ${stillHeld}/${heldAtStart} calls hung upstream; database pool: at most ${poolWaiting} waiting; ` +
        `hanging calls ended: "${textOf(results[0]).slice(0, 80)}"`,
    );
    assert.equal(poolWaiting, 0, 'no request waited for a database connection');
  });
});
