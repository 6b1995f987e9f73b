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
 * connection cache, and a change made through one drops only that one's cached row: the other
 * learns of it when its entry expires, within 5 s (the same bound as a revoked key). With a
 * process-wide change bus the second app was told too, so tests with several apps did not behave
 * like several instances.
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
    const options = { databaseUrl: db.url, encryptionKey, providers: [keyProvider(upstream)] };
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
    const user = await register(a, 'two apps');
    const [viaA, viaB] = [await connectMcp(a.url, user.apiKey), await connectMcp(b.url, user.apiKey)];
    clients.push(viaA, viaB);
    await putKey(a, user.apiKey, FIRST_KEY);
    assert.equal(await whoami(viaA), 'first');
    assert.equal(await whoami(viaB), 'first', 'both apps hold the row now');

    await putKey(a, user.apiKey, SECOND_KEY);
    assert.equal(await whoami(viaA), 'second', 'the app that wrote dropped its own copy');
    assert.equal(await whoami(viaB), 'first', 'the other app was not told: it serves its own cached row until it expires');

    assert.equal((await callApi(a.url, 'DELETE', '/api/connect/hitl', { key: user.apiKey })).status, 200);
    assert.match(await whoami(viaA), /You have not set a HITL API key yet/);
    const elapsed = await waitUntil(async () => /You have not set a HITL API key yet/.test(await whoami(viaB)), 7_000, 100);
    assert.ok(elapsed <= 5_500, `the other app stopped using the deleted key after ${elapsed} ms`);
    t.diagnostic(`the other app stopped using the deleted key ${elapsed} ms after the DELETE`);
  });
});
