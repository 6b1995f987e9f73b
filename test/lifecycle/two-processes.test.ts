import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectionStatus, MANY_IN_FLIGHT, registerAndConnect, startAppWithUpstream, tokenExpiry, upstreamProvider } from '../support/app.js';
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
    f = await startAppWithUpstream({ accessTokenTtl: 2, encryptionKey });
    const config = { databaseUrl: f.db.url, encryptionKey: encryptionKey.toString('base64'), providers: [upstreamProvider(f.upstream)], limits: MANY_IN_FLIGHT };
    processes = await Promise.all([spawnApp(config), spawnApp(config)]);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(processes.map((p) => p.stop()));
    await f.close();
  });

  it('hammered concurrently: one refresh for an expired token, one for a refused one, and both keep a working token', async () => {
    const [a, b] = processes as [AppProcess, AppProcess];
    assert.notEqual(a.pid, b.pid);
    const { apiKey } = await registerAndConnect(f.app, 'erin');
    const onA = await connectMcp(a.url, apiKey);
    const onB = await connectMcp(b.url, apiKey);
    clients.push(onA, onB);
    const logs = () => `\nA: ${a.stderr()}\nB: ${b.stderr()}`;

    /** 40 calls split over both processes at once; returns the Authorization headers the upstream saw. */
    const hammer = async (): Promise<string[]> => {
      // Each process trusts a verified API key for 5 s, and concurrent first verifications all pay
      // bcrypt: warm it with a call that needs no upstream token.
      await Promise.all([onA.listTools(), onB.listTools()]);
      const apiBefore = f.upstream.apiRequests.length;
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? onA : onB).callTool({ name: 'get_item', arguments: { id: `n${i}` } })));
      for (const [i, result] of results.entries()) {
        assert.equal(result.isError, undefined, `${textOf(result)}${logs()}`);
        assert.deepEqual(JSON.parse(textOf(result)), { id: `n${i}`, q: null, owner: 'erin' });
      }
      return f.upstream.apiRequests.slice(apiBefore).map((r) => r.authorization ?? '');
    };

    // Round 1: the access token has expired. The replacement lives long, so a slow machine
    // cannot make a second refresh legitimate.
    await sleepUntil((await tokenExpiry(f.app, apiKey)).getTime() + 50);
    f.upstream.setAccessTokenTtl(3600);
    let refreshesBefore = f.upstream.tokenCalls.refresh_token;
    const first = await hammer();
    assert.equal(f.upstream.tokenCalls.refresh_token - refreshesBefore, 1, `one refresh across both processes${logs()}`);
    assert.equal(first.length, 40, 'no call went out with the expired token');
    assert.equal(new Set(first).size, 1, 'both processes used the one new token');

    // Round 2: the upstream kills that access token early; both processes meet 401s at once. The
    // refresh spends the refresh token rotated in round 1: had either process lost it, the
    // upstream would answer invalid_grant (and revoke the grant for the replay).
    f.upstream.revokeAccessTokensFor('erin');
    refreshesBefore = f.upstream.tokenCalls.refresh_token;
    const second = await hammer();
    assert.equal(f.upstream.tokenCalls.refresh_token - refreshesBefore, 1, `one refresh across both processes${logs()}`);
    const [refused] = first;
    const renewed = new Set(second.filter((h) => h !== refused));
    assert.equal(renewed.size, 1, 'every retry used the one new token');

    const status = await connectionStatus(f.app, apiKey);
    assert.equal(status.connected, true);
    assert.equal(status.needs_reauthorization, false);
  });
});
