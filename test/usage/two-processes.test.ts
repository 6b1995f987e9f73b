import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { utcDay } from '../../src/usage/days.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { callApi } from '../support/json-api.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';
import { connectMcp } from '../support/mcp-client.js';
import { spawnApp, type AppProcess } from '../support/spawn-app.js';

const ALICE_KEY = `hk_live_${randomBytes(12).toString('hex')}`;
const FALLBACK_KEY = `hk_ops_${randomBytes(12).toString('hex')}`;

async function registerOn(instance: AppProcess): Promise<string> {
  const res = await callApi(instance.url, 'POST', '/api/users/register', { body: {} });
  assert.equal(res.status, 201, res.text);
  return res.body.api_key as string;
}

async function callTools(instance: AppProcess, apiKey: string, calls: Array<[string, Record<string, unknown>]>): Promise<void> {
  const client = await connectMcp(instance.url, apiKey);
  try {
    for (const [name, args] of calls) await client.callTool({ name, arguments: args });
  } finally {
    await client.close();
  }
}

describe('two server processes on one database', () => {
  let db: TestDatabase;
  let upstream: KeyUpstream;
  let one: AppProcess;
  let two: AppProcess;
  const today = utcDay(new Date());

  before(async () => {
    db = await createTestDatabase();
    upstream = await startKeyUpstream({ accounts: { [ALICE_KEY]: 'alice-acct', [FALLBACK_KEY]: 'ops-acct' }, style: { header: 'Authorization', template: 'Bearer {key}' } });
    const shared = {
      databaseUrl: db.url,
      encryptionKey: randomBytes(32).toString('base64'),
      providers: [keyProvider(upstream, { fallback_key: '${HITL_API_KEY}' })],
    };
    // One flushes often; the other effectively never on its timer, so only its shutdown flush can write its counts.
    [one, two] = await Promise.all([
      spawnApp({ ...shared, usageFlushMs: 100 }, { HITL_API_KEY: FALLBACK_KEY }),
      spawnApp({ ...shared, usageFlushMs: 600_000 }, { HITL_API_KEY: FALLBACK_KEY }),
    ]);
    assert.notEqual(one.pid, two.pid);
  });
  after(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await upstream?.close();
    await db?.drop();
  });

  it('a key set on one instance serves calls on the other, and both instances’ counts add up exactly', async () => {
    const alice = await registerOn(one);
    const bob = await registerOn(two);
    const put = await callApi(one.url, 'PUT', '/api/connect/hitl/key', { key: alice, body: { api_key: ALICE_KEY } });
    assert.equal(put.status, 200, put.text);

    const aliceKeyCallsBefore = upstream.requestsWith(ALICE_KEY).length;
    await callTools(two, alice, [
      ['hitl_whoami', {}],
      ['hitl_whoami', {}],
      ['hitl_whoami', {}],
      ['hitl_status', { code: 500 }],
      ['hitl_status', { code: 502 }],
    ]);
    assert.equal(upstream.requestsWith(ALICE_KEY).length, aliceKeyCallsBefore + 5, 'instance two decrypted the key instance one stored');
    await callTools(one, alice, [
      ['hitl_whoami', {}],
      ['hitl_whoami', {}],
      ['hitl_whoami', {}],
      ['hitl_whoami', {}],
      ['hitl_echo', { message: 'hi' }],
    ]);
    await callTools(one, bob, [
      ['hitl_whoami', {}],
      ['hitl_whoami', {}],
    ]);
    await callTools(two, bob, [['hitl_whoami', {}]]);
    assert.equal(upstream.requestsWith(FALLBACK_KEY).length, 3, 'bob, without a key, was served by the fallback on both');

    // Instance two has counted its calls in memory only: the report shows instance one's.
    const partial = await callApi(one.url, 'GET', '/api/usage', { key: alice });
    assert.deepEqual(partial.body.usage, [
      { day: today, provider: 'hitl', tool: 'hitl_echo', ok: 1, error: 0 },
      { day: today, provider: 'hitl', tool: 'hitl_whoami', ok: 4, error: 0 },
    ]);

    // A graceful stop flushes what instance two counted.
    assert.equal(await two.stop(), 0);
    const full = await callApi(one.url, 'GET', '/api/usage', { key: alice });
    assert.deepEqual(full.body.usage, [
      { day: today, provider: 'hitl', tool: 'hitl_echo', ok: 1, error: 0 },
      { day: today, provider: 'hitl', tool: 'hitl_status', ok: 0, error: 2 },
      { day: today, provider: 'hitl', tool: 'hitl_whoami', ok: 7, error: 0 },
    ]);
    const bobs = await callApi(one.url, 'GET', '/api/usage', { key: bob });
    assert.deepEqual(bobs.body.usage, [{ day: today, provider: 'hitl', tool: 'hitl_whoami', ok: 3, error: 0 }]);
  });

  it('neither process logged a key', () => {
    for (const instance of [one, two]) {
      const logs = instance.stderr();
      assert.match(logs, /"msg":"request"/, 'the process logged its requests');
      assert.ok(!logs.includes(ALICE_KEY) && !logs.includes(FALLBACK_KEY));
    }
  });
});
