import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { waitUntil } from '../support/api-client.js';
import { register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { callApi } from '../support/json-api.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

const FIRST_KEY = 'hk_live_first_0a1b2c3d4e5f6a7b';
const SECOND_KEY = 'hk_live_second_9f8e7d6c5b4a3f2e';

/**
 * Issue 17: two apps built in one process on one database are two instances. Each keeps its own
 * connection cache, and a change made through one drops only that one's cached row at once: the
 * other learns of it through the database, as another process would (with a process-wide change
 * bus the second app was told in memory, so tests with several apps did not behave like several
 * instances). Issue 16: what it learns it from is the change feed, not its cache expiring — the
 * cache TTL here is a minute, and the change still arrives within the 5 s bound.
 */
describe('two apps in one process keep their own connection caches', () => {
  let db: TestDatabase;
  let upstream: KeyUpstream;
  let a: TestApp;
  let b: TestApp;
  const clients: Client[] = [];

  before(async () => {
    db = await createTestDatabase();
    upstream = await startKeyUpstream({ accounts: { [FIRST_KEY]: 'first', [SECOND_KEY]: 'second' }, style: { header: 'Authorization', template: 'Bearer {key}' } });
    const encryptionKey = randomBytes(32);
    const options = { databaseUrl: db.url, encryptionKey, providers: [keyProvider(upstream)], connectionCacheMs: 60_000 };
    [a, b] = await Promise.all([startApp(options), startApp(options)]);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([a.close(), b.close()]);
    await upstream.close();
    await db.drop();
  });

  async function putKey(app: TestApp, apiKey: string, key: string): Promise<void> {
    const res = await callApi(app.url, 'PUT', '/api/connect/hitl/key', { key: apiKey, body: { api_key: key } });
    assert.equal(res.status, 200, res.text);
  }
  /** The account a whoami through `client` acted as, or the error text when it could not. */
  async function whoami(client: Client): Promise<string> {
    const result = await client.callTool({ name: 'hitl_whoami', arguments: {} });
    return result.isError ? textOf(result) : (JSON.parse(textOf(result)) as { account: string }).account;
  }

  it('a change through one app is seen there at once, and by the other within 5 s', async (t) => {
    const within5s = async (what: string, done: () => Promise<boolean>): Promise<void> => {
      const elapsed = await waitUntil(done, 7_000, 100);
      assert.ok(elapsed <= 5_500, `${what} after ${elapsed} ms`);
      t.diagnostic(`${what} ${elapsed} ms after the change`);
    };
    const user = await register(a, 'two apps');
    const [viaA, viaB] = [await connectMcp(a.url, user.apiKey), await connectMcp(b.url, user.apiKey)];
    clients.push(viaA, viaB);
    await putKey(a, user.apiKey, FIRST_KEY);
    assert.equal(await whoami(viaA), 'first');
    assert.equal(await whoami(viaB), 'first', 'both apps hold the row now');

    await putKey(a, user.apiKey, SECOND_KEY);
    assert.equal(await whoami(viaA), 'second', 'the app that wrote dropped its own copy');
    await within5s('the other app used the new key', async () => (await whoami(viaB)) === 'second');

    assert.equal((await callApi(a.url, 'DELETE', '/api/connect/hitl', { key: user.apiKey })).status, 200);
    assert.match(await whoami(viaA), /You have not set a HITL API key yet/);
    await within5s('the other app stopped using the deleted key', async () => /You have not set a HITL API key yet/.test(await whoami(viaB)));
  });

  it('a change made in SQL by hand reaches both apps, though neither wrote it', async (t) => {
    const user = await register(a, 'by hand');
    const [viaA, viaB] = [await connectMcp(a.url, user.apiKey), await connectMcp(b.url, user.apiKey)];
    clients.push(viaA, viaB);
    await putKey(a, user.apiKey, FIRST_KEY);
    assert.equal(await whoami(viaA), 'first');
    assert.equal(await whoami(viaB), 'first');
    await a.pool.query(`DELETE FROM connections WHERE user_id = $1`, [user.userId]);
    const elapsed = await waitUntil(async () => {
      const [onA, onB] = await Promise.all([whoami(viaA), whoami(viaB)]);
      return /You have not set a HITL API key yet/.test(onA) && /You have not set a HITL API key yet/.test(onB);
    }, 7_000, 100);
    assert.ok(elapsed <= 5_500, `both apps stopped using the deleted row after ${elapsed} ms`);
    t.diagnostic(`both apps stopped using the row deleted by hand ${elapsed} ms after the DELETE`);
  });
});
