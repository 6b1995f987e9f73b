import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { call, createKey, roomInCurrentMinute, sleep, waitUntil } from '../support/api-client.js';
import { connectAccount, upstreamProvider, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { startRoundRobin, type RoundRobin } from '../support/round-robin.js';
import { spawnApp, type AppProcess } from '../support/spawn-app.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const LIMITS = { keyPerMinute: 40, keyPerHour: 10_000 };
/** Each instance syncs rate-limit counts every second; two intervals guarantee one began after a call. */
const TWO_SYNCS_MS = 2_200;

/**
 * Issue 16: three server processes on one database behind a round-robin load balancer with no
 * affinity (each request goes to the next instance), PUBLIC_URL the balancer's address. Keys,
 * the connect flow, refreshes, rate limits and usage must behave as with one instance.
 */
describe('three instances behind a round-robin balancer behave as one', () => {
  const encryptionKey = randomBytes(32);
  let db: TestDatabase;
  let upstream: TestUpstream;
  let balancer: RoundRobin;
  let instances: AppProcess[] = [];
  const clients: Client[] = [];

  before(async () => {
    db = await createTestDatabase();
    balancer = await startRoundRobin();
    upstream = await startUpstream({ redirectUris: [`${balancer.url}/api/connect/acme/callback`], accessTokenTtl: 3600 });
    const config = { databaseUrl: db.url, encryptionKey: encryptionKey.toString('base64'), providers: [upstreamProvider(upstream)], publicUrl: balancer.url, limits: LIMITS, usageFlushMs: 200 };
    instances = await Promise.all([spawnApp(config), spawnApp(config), spawnApp(config)]);
    balancer.setTargets(instances.map((i) => i.url));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(instances.map((i) => i.stop()));
    await balancer.close();
    await upstream.close();
    await db.drop();
  });

  const logs = () => instances.map((i, n) => `\n#${n}: ${i.stderr().slice(-1500)}`).join('');
  const register = async (): Promise<string> => {
    const res = await call<{ api_key: string }>(balancer.url, 'POST', '/api/users/register', { body: {} });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.api_key;
  };

  it('connects across instances, calls as each user, refreshes once, and counts usage exactly', async () => {
    const [uma, vic] = [await register(), await register()];
    // start, confirm page, confirm POST and callback each land on another instance.
    await connectAccount({ url: balancer.url } as TestApp, uma, 'uma');
    await connectAccount({ url: balancer.url } as TestApp, vic, 'vic');
    const mcpUma = await connectMcp(balancer.url, uma);
    const mcpVic = await connectMcp(balancer.url, vic);
    clients.push(mcpUma, mcpVic);

    const round = async (n: number) =>
      Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const [client, owner] = i % 2 === 0 ? [mcpUma, 'uma'] : [mcpVic, 'vic'];
          const result = await client.callTool({ name: 'get_item', arguments: { id: `r${i}` } });
          assert.equal(result.isError, undefined, `${textOf(result)}${logs()}`);
          assert.equal((JSON.parse(textOf(result)) as { owner: string }).owner, owner);
        }),
      );
    await round(12);

    // Both access tokens die early upstream: the next calls on all three instances meet 401s at once,
    // and each connection is refreshed exactly once (a lost rotated refresh token would be invalid_grant).
    upstream.revokeAccessTokensFor('uma');
    upstream.revokeAccessTokensFor('vic');
    const refreshesBefore = upstream.tokenCalls.refresh_token;
    await round(12);
    assert.equal(upstream.tokenCalls.refresh_token - refreshesBefore, 2, `one refresh per connection across three instances${logs()}`);

    // Usage: every instance flushes within usageFlushMs; the report (from any instance) adds up exactly.
    await waitUntil(async () => {
      const usage = await call<{ usage: Array<{ ok: number }> }>(balancer.url, 'GET', '/api/usage', { key: uma });
      return usage.body.usage?.[0]?.ok === 12;
    }, 5_000);
    const vics = await call<{ usage: Array<{ tool: string; ok: number; error: number }> }>(balancer.url, 'GET', '/api/usage', { key: vic });
    assert.deepEqual(vics.body.usage.map((u) => [u.tool, u.ok, u.error]), [['get_item', 12, 0]]);
    assert.ok(balancer.served().every((n) => n > 10), `every instance served requests: ${balancer.served().join(', ')}`);
  });

  it('a revoked key is refused by every instance within 5 s, though all had it cached', async () => {
    const owner = await register();
    const doomed = await createKey(balancer.url, owner, { name: 'doomed', scopes: ['keys'] });
    // Three requests: each instance verifies it once and then trusts its cache.
    for (let i = 0; i < 3; i++) assert.equal((await call(balancer.url, 'GET', '/api/keys', { key: doomed.api_key })).status, 200);
    assert.equal((await call(balancer.url, 'DELETE', `/api/keys/${doomed.id}`, { key: owner })).status, 200);
    const refusedEverywhere = async () => {
      const statuses = await Promise.all([0, 1, 2].map(() => call(balancer.url, 'GET', '/api/keys', { key: doomed.api_key }).then((r) => r.status)));
      return statuses.every((s) => s === 401);
    };
    const elapsed = await waitUntil(refusedEverywhere, 7_000, 100);
    assert.ok(elapsed <= 5_500, `all instances refused it after ${elapsed} ms`);
    assert.equal((await call(balancer.url, 'GET', '/api/keys', { key: owner })).status, 200, 'the owner’s other key still works');
  });

  it('one rate limit per key across the instances: once the count reached it, every instance refuses', async () => {
    const key = await register();
    // Counts are per minute window: start where this minute has room for the whole probe.
    await roomInCurrentMinute(20);
    let admitted = 0;
    for (let i = 0; i < LIMITS.keyPerMinute; i++) if ((await call(balancer.url, 'GET', '/api/keys', { key })).status === 200) admitted += 1;
    assert.ok(admitted <= LIMITS.keyPerMinute);
    await sleep(TWO_SYNCS_MS);
    // Three requests in a row: one per instance, each knowing the global count by now.
    const after = await Promise.all([0, 1, 2].map(() => call(balancer.url, 'GET', '/api/keys', { key }).then((r) => r.status)));
    assert.deepEqual(after, [429, 429, 429]);
  });
});
