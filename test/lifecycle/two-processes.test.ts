import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectionStatus, registerAndConnect, startAppWithUpstream, tokenExpiry, upstreamProvider } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { spawnApp, type AppProcess } from '../support/spawn-app.js';
import { sleepUntil } from '../support/time.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

describe('two server processes on one database share one refresh', () => {
  const encryptionKey = randomBytes(32);
  let f: Fixture;
  let processes: AppProcess[] = [];
  const clients: Client[] = [];

  before(async () => {
    // The in-process app only runs the connect flow; the two processes serve the tool calls.
    // 4 s: the new token stays outside its refresh margin for 2 s, time for all 40 calls to start.
    f = await startAppWithUpstream({ accessTokenTtl: 4, encryptionKey });
    const config = { databaseUrl: f.db.url, encryptionKey: encryptionKey.toString('base64'), providers: [upstreamProvider(f.upstream)] };
    processes = await Promise.all([spawnApp(config), spawnApp(config)]);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(processes.map((p) => p.stop()));
    await f.close();
  });

  it('hammered concurrently on an expired token: one refresh per expiry, and both keep a working token', async () => {
    const [a, b] = processes as [AppProcess, AppProcess];
    assert.notEqual(a.pid, b.pid);
    const { apiKey } = await registerAndConnect(f.app, 'erin');
    const onA = await connectMcp(a.url, apiKey);
    const onB = await connectMcp(b.url, apiKey);
    clients.push(onA, onB);

    const hammer = async (): Promise<void> => {
      await sleepUntil((await tokenExpiry(f.app, apiKey)).getTime() + 50);
      // Each process trusts a verified API key for 5 s; concurrent first verifications all pay
      // bcrypt, which would spread the 40 calls over seconds. Warm it with a call that needs no token.
      await Promise.all([onA.listTools(), onB.listTools()]);
      const refreshesBefore = f.upstream.tokenCalls.refresh_token;
      const apiBefore = f.upstream.apiRequests.length;
      const calls = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? onA : onB).callTool({ name: 'get_item', arguments: { id: `n${i}` } }));
      const results = await Promise.all(calls);
      for (const [i, result] of results.entries()) {
        assert.equal(result.isError, undefined, `${textOf(result)}\nA: ${a.stderr()}\nB: ${b.stderr()}`);
        assert.deepEqual(JSON.parse(textOf(result)), { id: `n${i}`, q: null, owner: 'erin' });
      }
      assert.equal(f.upstream.tokenCalls.refresh_token - refreshesBefore, 1, 'one refresh across both processes');
      const sent = f.upstream.apiRequests.slice(apiBefore);
      assert.equal(sent.length, 40, 'no call went out with the expired token');
      assert.equal(new Set(sent.map((r) => r.authorization)).size, 1, 'both processes used the one new token');
    };

    await hammer();
    // The upstream rotates the refresh token on every use and revokes the grant if an old one is
    // replayed: a second round succeeding proves the rotated token was stored, not lost.
    await hammer();
    assert.equal((await connectionStatus(f.app, apiKey)).connected, true);
  });
});
