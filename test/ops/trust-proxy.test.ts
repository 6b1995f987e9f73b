import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { TrustProxy } from '../../src/http/trust-proxy.js';
import { startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const WRONG_KEYS = 25;
const FAILED_AUTH_LIMIT = 5;
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

it('TRUST_PROXY takes express forms, defaults to loopback, and refuses nonsense', () => {
  assert.deepEqual(loadConfig({}).trustProxy, ['loopback']);
  assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
  assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
  assert.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fdaa::/16' }).trustProxy, ['loopback', '10.0.0.0/8', 'fdaa::/16']);
  assert.throws(() => loadConfig({ TRUST_PROXY: 'everyone' }), (err: unknown) => err instanceof ConfigError && /TRUST_PROXY/.test(err.problems.join()));
});

describe('TRUST_PROXY decides whose X-Forwarded-For counts', () => {
  let db: TestDatabase;
  const apps: TestApp[] = [];
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await db.drop();
  });

  const start = async (trustProxy?: TrustProxy): Promise<TestApp> => {
    const app = await startApp({ databaseUrl: db.url, limits: { failedAuthPerIp: FAILED_AUTH_LIMIT }, ...(trustProxy !== undefined ? { trustProxy } : {}) });
    apps.push(app);
    return app;
  };
  /** The address the app recorded for a registration sent with this X-Forwarded-For. */
  const seenAddress = async (app: TestApp, forwarded: string): Promise<string | null> => {
    const reg = await fetch(`${app.url}/api/users/register`, { method: 'POST', headers: { 'x-forwarded-for': forwarded } });
    const { api_key } = (await reg.json()) as { api_key: string };
    const audit = (await (await fetch(`${app.url}/api/audit`, { headers: { authorization: `Bearer ${api_key}` } })).json()) as { events: Array<{ type: string; ip: string | null }> };
    return audit.events.at(-1)?.ip ?? null;
  };
  /** Statuses of wrong keys, each sent with a different forged address, to /api and to /mcp. */
  const forgedGuesses = async (app: TestApp): Promise<number[]> => {
    const statuses: number[] = [];
    for (let i = 0; i < WRONG_KEYS; i++) {
      const headers = { authorization: `Bearer sk_live_guess${i}_${'x'.repeat(30)}`, 'x-forwarded-for': `10.1.${i}.7` };
      const api = await fetch(`${app.url}/api/keys`, { headers });
      await api.arrayBuffer();
      const mcp = await fetch(`${app.url}/mcp`, { method: 'POST', headers: { ...headers, ...MCP_HEADERS }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
      await mcp.arrayBuffer();
      statuses.push(api.status, mcp.status);
    }
    return statuses;
  };

  it('default (loopback): a local proxy names the client', async () => {
    const app = await start();
    assert.equal(await seenAddress(app, '203.0.113.7'), '203.0.113.7');
  });

  it('a forged X-Forwarded-For from an untrusted peer is ignored: the guesses share one budget and get 429', async () => {
    // The test connects from 127.0.0.1, which this setting does not trust.
    const app = await start(['10.9.9.9']);
    assert.equal(await seenAddress(app, '203.0.113.7'), '127.0.0.1');
    const statuses = await forgedGuesses(app);
    assert.ok(statuses.every((s) => s === 401 || s === 429), statuses.join());
    assert.ok(statuses.filter((s) => s === 429).length >= 2 * WRONG_KEYS - FAILED_AUTH_LIMIT - 1, statuses.join());
  });

  it('false: the peer is the client', async () => {
    const app = await start(false);
    assert.equal(await seenAddress(app, '203.0.113.7'), '127.0.0.1');
    assert.ok((await forgedGuesses(app)).includes(429));
  });

  it('a hop count trusts that many proxies in front, from the nearest', async () => {
    assert.equal(await seenAddress(await start(1), '198.51.100.1, 203.0.113.9'), '203.0.113.9');
    assert.equal(await seenAddress(await start(2), '198.51.100.1, 203.0.113.9'), '198.51.100.1');
  });

  it('a CIDR list: only listed peers may name the client', async () => {
    assert.equal(await seenAddress(await start(['127.0.0.0/8']), '203.0.113.7'), '203.0.113.7');
    assert.equal(await seenAddress(await start(['::1', '192.0.2.0/24']), '203.0.113.7'), '127.0.0.1');
  });
});
