import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectionStatus, MANY_IN_FLIGHT, registerAndConnect, startAppWithUpstream, tokenExpiry } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { sleep, sleepUntil } from '../support/time.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

/**
 * The test upstream's access tokens live this long; the proxy refreshes them after half of it,
 * 1.5 s before the expiry it computed. The upstream may end a token up to 1 s before that
 * (whole-second clock), which leaves 0.5 s in which an early refresh is still in time.
 */
const TTL_SECONDS = 3;

describe('access tokens are refreshed without the user noticing', () => {
  let f: Fixture;
  const clients: Client[] = [];
  const mcpFor = async (apiKey: string): Promise<Client> => {
    const client = await connectMcp(f.app.url, apiKey);
    clients.push(client);
    return client;
  };

  before(async () => {
    f = await startAppWithUpstream({ accessTokenTtl: TTL_SECONDS });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await f.close();
  });

  it('tool calls keep working across several access-token expiries, and no expired token ever reaches the upstream', async () => {
    const { apiKey } = await registerAndConnect(f.app, 'alice');
    const alice = await mcpFor(apiKey);
    const refreshesBefore = f.upstream.tokenCalls.refresh_token;
    const apiBefore = f.upstream.apiRequests.length;
    const firstExpiry = await tokenExpiry(f.app, apiKey);
    const grantedScopes = (await connectionStatus(f.app, apiKey)).scopes;
    assert.ok(grantedScopes.includes('read'), JSON.stringify(grantedScopes));

    let calls = 0;
    const until = Date.now() + 3 * TTL_SECONDS * 1000; // outlives three lifetimes of the first token
    while (Date.now() < until) {
      const result = await alice.callTool({ name: 'whoami', arguments: {} });
      assert.equal(result.isError, undefined, textOf(result));
      assert.deepEqual(JSON.parse(textOf(result)), { id: 'alice', login: 'alice' });
      calls += 1;
      await sleep(250);
    }

    const refreshes = f.upstream.tokenCalls.refresh_token - refreshesBefore;
    assert.ok(refreshes >= 3, `${refreshes} refreshes over ${calls} calls`);
    // One upstream request per call: had a stale token been sent, the 401 and retry would show here.
    assert.equal(f.upstream.apiRequests.length - apiBefore, calls);
    assert.ok((await tokenExpiry(f.app, apiKey)) > firstExpiry);
    // Every refresh rotated the refresh token; the upstream revokes the grant if an old one is
    // ever replayed, so a further refresh succeeding proves each new one was stored.
    const status = await connectionStatus(f.app, apiKey);
    assert.equal(status.connected, true);
    assert.deepEqual(status.scopes, grantedScopes, 'refreshing keeps the granted scopes');
  });

  it('a 401 from the upstream causes one refresh and one retry, never a loop', async () => {
    const { apiKey } = await registerAndConnect(f.app, 'carol');
    const carol = await mcpFor(apiKey);
    const refreshesBefore = f.upstream.tokenCalls.refresh_token;
    const apiBefore = f.upstream.apiRequests.length;

    // /status/401 refuses every token, fresh or not.
    const result = await carol.callTool({ name: 'status', arguments: { code: 401 } });

    assert.equal(result.isError, true);
    assert.match(textOf(result), /Acme answered HTTP 401/);
    assert.equal(f.upstream.tokenCalls.refresh_token - refreshesBefore, 1);
    assert.equal(f.upstream.apiRequests.length - apiBefore, 2);
    const after = await carol.callTool({ name: 'whoami', arguments: {} });
    assert.equal(after.isError, undefined, 'the refreshed token works');
    assert.equal((await connectionStatus(f.app, apiKey)).connected, true);
  });
});

describe('one refresh for many concurrent calls', () => {
  let f: Fixture;
  before(async () => {
    f = await startAppWithUpstream({ accessTokenTtl: 2, limits: MANY_IN_FLIGHT });
  });
  after(() => f.close());

  it('50 concurrent tool calls on an expired token cause exactly one refresh', async (t) => {
    const { apiKey } = await registerAndConnect(f.app, 'bob');
    const bob = await connectMcp(f.app.url, apiKey);
    t.after(() => bob.close());
    await sleepUntil((await tokenExpiry(f.app, apiKey)).getTime() + 50);
    // The replacement lives long: however slowly the 50 calls run on a busy machine, none of
    // them may find it due, so any second refresh would be a real one.
    f.upstream.setAccessTokenTtl(3600);
    const refreshesBefore = f.upstream.tokenCalls.refresh_token;
    const apiBefore = f.upstream.apiRequests.length;

    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => bob.callTool({ name: 'get_item', arguments: { id: String(i) } })));

    for (const [i, result] of results.entries()) {
      assert.equal(result.isError, undefined, textOf(result));
      assert.deepEqual(JSON.parse(textOf(result)), { id: String(i), q: null, owner: 'bob' });
    }
    assert.equal(f.upstream.tokenCalls.refresh_token - refreshesBefore, 1);
    const sent = f.upstream.apiRequests.slice(apiBefore);
    assert.equal(sent.length, 50, 'no call was sent with the expired token');
    assert.equal(new Set(sent.map((r) => r.authorization)).size, 1, 'all 50 used the one new token');
  });
});

for (const expiresIn of ['omitted', 'null'] as const) {
  describe(`tokens the upstream sends without a lifetime (expires_in ${expiresIn})`, () => {
    let f: Fixture;
    let client: Client;
    before(async () => {
      // Really 2-3 s (whole-second clock): ample for the first call to land before it dies.
      f = await startAppWithUpstream({ accessTokenTtl: 3, upstream: { expiresIn } });
    });
    after(async () => {
      await client?.close();
      await f.close();
    });

    it('are never refreshed ahead of time, but a 401 still triggers one refresh and the call succeeds', async () => {
      const { apiKey } = await registerAndConnect(f.app, 'dave');
      assert.equal((await connectionStatus(f.app, apiKey)).expires_at, null);
      client = await connectMcp(f.app.url, apiKey);

      const fresh = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(fresh.isError, undefined, textOf(fresh));
      assert.equal(f.upstream.tokenCalls.refresh_token, 0);

      await sleep(3_100); // the upstream's real lifetime passes; the proxy was never told it
      const apiBefore = f.upstream.apiRequests.length;
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(result.isError, undefined, textOf(result));
      assert.deepEqual(JSON.parse(textOf(result)), { id: 'dave', login: 'dave' });
      assert.equal(f.upstream.tokenCalls.refresh_token, 1);
      assert.equal(f.upstream.apiRequests.length - apiBefore, 2, 'one refused call, one retry');
      assert.equal((await connectionStatus(f.app, apiKey)).expires_at, null);
    });
  });
}
