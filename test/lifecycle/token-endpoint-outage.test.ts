import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import pg from 'pg';
import { connectionStatus, registerAndConnect, startAppWithUpstream, tokenExpiry } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { sleepUntil } from '../support/time.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

const TOKEN_TIMEOUT_MS = 300;
/** lock_timeout for a refresh that must happen: one token request plus 2 s for its statements. */
const LOCK_WAIT_MS = TOKEN_TIMEOUT_MS + 2_000;
/** Before the computed expiry: inside the refresh margin, with the token still valid upstream. */
const IN_MARGIN_MS = 1_900;

describe('an unavailable token endpoint never costs the user their connection', () => {
  let f: Fixture;
  before(async () => {
    // 4 s tokens are refreshed early from 2 s before the expiry the proxy computed; the upstream
    // may end them up to 1 s before that (whole-second clock), so "in the margin, still valid"
    // is the second from 2 s to 1 s before the computed expiry.
    f = await startAppWithUpstream({ accessTokenTtl: 4, limits: { tokenTimeoutMs: TOKEN_TIMEOUT_MS, refreshRetryDelaysMs: [100, 200] } });
  });
  after(() => f.close());

  async function connected(t: TestContext, login: string): Promise<{ apiKey: string; userId: string; client: Client; expiry: Date }> {
    const user = await registerAndConnect(f.app, login);
    const client = await connectMcp(f.app.url, user.apiKey);
    t.after(() => client.close());
    return { ...user, client, expiry: await tokenExpiry(f.app, user.apiKey) };
  }

  async function assertKept(apiKey: string): Promise<void> {
    const status = await connectionStatus(f.app, apiKey);
    assert.equal(status.connected, true);
    assert.equal(status.needs_reauthorization, false);
  }

  it('5xx: the call reports it after retrying, the connection is kept, and it works again once the endpoint is back', async (t) => {
    const { apiKey, client, expiry } = await connected(t, 'carol');
    await sleepUntil(expiry.getTime() + 50);
    f.upstream.setTokenEndpointDown(true);
    t.after(() => f.upstream.setTokenEndpointDown(false));
    const refreshesBefore = f.upstream.tokenCalls.refresh_token;

    const failed = await client.callTool({ name: 'whoami', arguments: {} });
    assert.equal(failed.isError, true);
    assert.match(textOf(failed), /Could not refresh your Acme access: token endpoint unavailable \(temporarily_unavailable.*\)\. Your connection is kept; try again shortly\./);
    assert.equal(f.upstream.tokenCalls.refresh_token - refreshesBefore, 3, 'one attempt and two retries');
    await assertKept(apiKey);

    f.upstream.setTokenEndpointDown(false);
    const recovered = await client.callTool({ name: 'whoami', arguments: {} });
    assert.equal(recovered.isError, undefined, textOf(recovered));
    assert.deepEqual(JSON.parse(textOf(recovered)), { id: 'carol', login: 'carol' });
  });

  it('a hanging token endpoint: every attempt is cut off at the timeout, so the call ends in bounded time', async (t) => {
    const { apiKey, client, expiry } = await connected(t, 'dave');
    await sleepUntil(expiry.getTime() + 50);
    f.upstream.setTokenEndpointHanging(true);
    t.after(() => f.upstream.setTokenEndpointHanging(false));

    const started = Date.now();
    const failed = await client.callTool({ name: 'whoami', arguments: {} });
    const elapsed = Date.now() - started;
    assert.equal(failed.isError, true);
    assert.match(textOf(failed), /token endpoint did not answer within 0\.3 s\. Your connection is kept/);
    // Three attempts of 300 ms plus ~300 ms of backoff (~1.2 s), with slack for a busy machine:
    // the point is that it ends, although the endpoint never answers.
    assert.ok(elapsed >= 3 * TOKEN_TIMEOUT_MS && elapsed < 5_000, `took ${elapsed} ms`);
    await assertKept(apiKey);

    f.upstream.setTokenEndpointHanging(false);
    const recovered = await client.callTool({ name: 'whoami', arguments: {} });
    assert.equal(recovered.isError, undefined, textOf(recovered));
  });

  it('a token inside its refresh margin is still used when the early refresh fails', async (t) => {
    const { apiKey, client, expiry } = await connected(t, 'erin');
    await sleepUntil(expiry.getTime() - IN_MARGIN_MS);
    f.upstream.setTokenEndpointDown(true);
    t.after(() => f.upstream.setTokenEndpointDown(false));
    const refreshesBefore = f.upstream.tokenCalls.refresh_token;

    const served = await client.callTool({ name: 'whoami', arguments: {} });
    assert.equal(served.isError, undefined, textOf(served));
    assert.deepEqual(JSON.parse(textOf(served)), { id: 'erin', login: 'erin' });
    assert.equal(f.upstream.tokenCalls.refresh_token - refreshesBefore, 1, 'one early attempt, no retries while the token works');

    f.upstream.setTokenEndpointDown(false);
    assert.equal((await client.callTool({ name: 'whoami', arguments: {} })).isError, undefined);
    assert.ok((await tokenExpiry(f.app, apiKey)) > expiry, 'the next call refreshed it');
  });

  describe('while another instance holds the refresh lock', () => {
    /** Locks the connection row from a separate database session, as a refreshing instance would. */
    async function holdRefreshLock(t: TestContext, userId: string): Promise<() => Promise<void>> {
      const other = new pg.Client({ connectionString: f.db.url });
      await other.connect();
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM connections WHERE user_id = $1 AND provider_id = 'acme' FOR UPDATE`, [userId]);
      const release = async (): Promise<void> => {
        await other.query('ROLLBACK').catch(() => undefined);
        await other.end().catch(() => undefined);
      };
      t.after(release);
      return release;
    }

    it('a call that needs a refresh waits at most the bound, reports it, and keeps the connection', async (t) => {
      const { apiKey, userId, client, expiry } = await connected(t, 'frank');
      await sleepUntil(expiry.getTime() + 50);
      const release = await holdRefreshLock(t, userId);

      const started = Date.now();
      const failed = await client.callTool({ name: 'whoami', arguments: {} });
      const elapsed = Date.now() - started;
      assert.equal(failed.isError, true);
      assert.match(textOf(failed), /a refresh of your Acme access already under way did not finish in time\. Your connection is kept; try again shortly/);
      assert.ok(elapsed >= LOCK_WAIT_MS - 50 && elapsed < LOCK_WAIT_MS + 3_000, `waited ${elapsed} ms`);
      await assertKept(apiKey);

      await release();
      assert.equal((await client.callTool({ name: 'whoami', arguments: {} })).isError, undefined);
    });

    it('a token inside its margin is served at once, without queueing behind the lock', async (t) => {
      const { userId, client, expiry } = await connected(t, 'grace');
      await sleepUntil(expiry.getTime() - IN_MARGIN_MS);
      await holdRefreshLock(t, userId);
      const refreshesBefore = f.upstream.tokenCalls.refresh_token;

      const started = Date.now();
      const served = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(served.isError, undefined, textOf(served));
      // Well under the 2.3 s a waiting call would take.
      assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms`);
      assert.equal(f.upstream.tokenCalls.refresh_token, refreshesBefore, 'left to the lock holder');
    });
  });
});
