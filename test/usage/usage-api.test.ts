import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pool } from '../../src/db/pool.js';
import { createKeyService } from '../../src/keys/key-service.js';
import { utcDay } from '../../src/usage/days.js';
import { register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { callApi } from '../support/json-api.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';
import { connectMcp } from '../support/mcp-client.js';

const FALLBACK_KEY = 'hk_ops_9z8y7x6w5v4u3t2s1r0q';
const DAY_MS = 24 * 60 * 60 * 1000;

/** Records the first words of every statement the app sends, and every transaction it opens. */
function countingPool(pool: Pool, statements: string[]): Pool {
  const wrapper = {
    query: (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text;
      statements.push(text.replace(/\s+/g, ' ').trim().slice(0, 40));
      return (pool.query as (...a: unknown[]) => unknown)(...args);
    },
    connect: () => {
      statements.push('connect (transaction)');
      return pool.connect();
    },
  };
  return wrapper as unknown as Pool;
}

describe('usage: every tool call counted per user, provider, tool and day', () => {
  let db: TestDatabase;
  let app: TestApp;
  let upstream: KeyUpstream;
  const statements: string[] = [];
  const today = utcDay(new Date());

  before(async () => {
    db = await createTestDatabase();
    upstream = await startKeyUpstream({ accounts: { [FALLBACK_KEY]: 'ops' }, style: { header: 'X-API-Key' } });
    app = await startApp({
      databaseUrl: db.url,
      env: { HITL_API_KEY: FALLBACK_KEY },
      providers: [keyProvider(upstream, { api_key: { header: 'X-API-Key' }, fallback_key: '${HITL_API_KEY}' })],
      // Long enough that nothing is flushed by the timer during a test: flushes here are explicit.
      usageFlushMs: 60_000,
      // Nor by the once-a-second rate-limit sync, which a slow (loaded) machine would let land
      // among the 20 calls counted below.
      limits: { syncIntervalMs: 3_600_000 },
      wrapPool: (pool) => countingPool(pool, statements),
    });
  });
  after(async () => {
    await app.close();
    await upstream.close();
    await db.drop();
  });

  const usage = async (apiKey: string, query = '') => callApi(app.url, 'GET', `/api/usage${query}`, { key: apiKey });

  it('counts ok and error calls of each tool, for the caller only', async () => {
    const alice = await register(app, 'alice');
    const bob = await register(app, 'bob');
    const a = await connectMcp(app.url, alice.apiKey);
    for (let i = 0; i < 3; i++) await a.callTool({ name: 'hitl_whoami', arguments: {} });
    await a.callTool({ name: 'hitl_echo', arguments: { message: 'x' } });
    await a.callTool({ name: 'hitl_status', arguments: { code: 500 } });
    await a.callTool({ name: 'hitl_status', arguments: { code: 503 } });
    await a.callTool({ name: 'hitl_status', arguments: { code: 'not a number' } }); // invalid arguments: an error
    await assert.rejects(a.callTool({ name: 'no_such_tool', arguments: {} })); // not a tool: not counted
    await a.close();
    // A read-only key calling a write tool is refused, and that counts as an error too.
    const { apiKey: readOnly } = await createKeyService(app.pool).mint(app.pool, { userId: alice.userId, name: 'ro', scopes: ['tools:read'], expiresAt: null });
    const ro = await connectMcp(app.url, readOnly);
    assert.equal((await ro.callTool({ name: 'hitl_echo', arguments: { message: 'x' } })).isError, true);
    await ro.close();
    const b = await connectMcp(app.url, bob.apiKey);
    await b.callTool({ name: 'hitl_whoami', arguments: {} });
    await b.close();

    const mine = await usage(alice.apiKey);
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.body, {
      usage: [
        { day: today, provider: 'hitl', tool: 'hitl_echo', ok: 1, error: 1 },
        { day: today, provider: 'hitl', tool: 'hitl_status', ok: 0, error: 3 },
        { day: today, provider: 'hitl', tool: 'hitl_whoami', ok: 3, error: 0 },
      ],
    });
    assert.deepEqual((await usage(bob.apiKey)).body, { usage: [{ day: today, provider: 'hitl', tool: 'hitl_whoami', ok: 1, error: 0 }] });
  });

  it('a warm tool call costs one database round trip; the counts of many calls, one statement', async () => {
    const carol = await register(app, 'carol');
    const client = await connectMcp(app.url, carol.apiKey);
    await client.callTool({ name: 'hitl_whoami', arguments: {} }); // warm: key verified and cached
    await usage(carol.apiKey); // writes what is pending
    statements.length = 0;
    const calls = 20;
    for (let i = 0; i < calls; i++) await client.callTool({ name: 'hitl_whoami', arguments: {} });
    await client.close();
    const duringCalls = [...statements];
    const report = await usage(carol.apiKey); // writes the 20 calls' counts, then reads the report
    const byReport = statements.slice(duringCalls.length);

    assert.ok(duringCalls.length <= calls, `${duringCalls.length} statements for ${calls} calls:\n${duringCalls.join('\n')}`);
    assert.ok(duringCalls.every((s) => s.startsWith('SELECT')), `only reads on the hot path:\n${duringCalls.join('\n')}`);
    assert.equal(byReport.length, 2, byReport.join('\n'));
    assert.ok(byReport[0]?.startsWith('INSERT INTO tool_usage '), 'one statement writes the counts of all the calls');
    assert.deepEqual((report.body.usage as Array<{ ok: number }>).map((l) => l.ok), [calls + 1]);
  });

  it('defaults to the last 30 days, both ends included; from and to select other days', async () => {
    const dan = await register(app, 'dan');
    const daysAgo = (n: number) => utcDay(new Date(Date.now() - n * DAY_MS));
    for (const [n, ok] of [
      [29, 1],
      [30, 10],
      [400, 100],
    ] as const) {
      await app.pool.query(`INSERT INTO tool_usage (user_id, day, provider_id, tool, ok, error) VALUES ($1, $2, 'hitl', 'hitl_whoami', $3, 0)`, [dan.userId, daysAgo(n), ok]);
    }
    const oks = async (query: string) => ((await usage(dan.apiKey, query)).body.usage as Array<{ ok: number }>).map((l) => l.ok);
    assert.deepEqual(await oks(''), [1]);
    assert.deepEqual(await oks(`?from=${daysAgo(30)}`), [10, 1]);
    assert.deepEqual(await oks(`?to=${daysAgo(30)}`), [10], 'without from: the 30 days ending with to');
    assert.deepEqual(await oks(`?from=${daysAgo(400)}&to=${daysAgo(400)}`), [100]);
    assert.deepEqual(await oks(`?from=${daysAgo(365)}&to=${today}`), [10, 1], '366 days is the longest range');
  });

  it('refuses bad dates, reversed and over-long ranges and unknown parameters with 400', async () => {
    const eve = await register(app, 'eve');
    for (const query of [
      '?from=2024-13-01',
      '?from=2023-02-29',
      '?to=2024-1-1',
      '?from=yesterday',
      '?from=2024-01-01T00:00:00Z',
      '?from=2024-03-02&to=2024-03-01',
      '?from=2023-01-01&to=2024-01-02', // 367 days
      '?from=2024-01-01&from=2024-01-02',
      '?day=2024-01-01',
    ]) {
      const res = await usage(eve.apiKey, query);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error, 'invalid_request', query);
      assert.equal(typeof res.body.error_description, 'string');
    }
    assert.equal((await usage(eve.apiKey, '?from=2024-02-29&to=2024-02-29')).status, 200, 'a leap day is a day');
    assert.equal((await callApi(app.url, 'GET', '/api/usage')).status, 401);
  });
});
