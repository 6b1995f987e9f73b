import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import pg from 'pg';
import { connectionStatus, registerAndConnect, startAppWithUpstream, tokenExpiry } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { sleepUntil } from '../support/time.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

const TOKEN_TIMEOUT_MS = 1_000;
const CONCURRENCY = 2;
const USERS = 5;

/**
 * A refresh holds a database connection across its token request. When the token endpoint hangs,
 * many users whose tokens expired at once must not take the whole pool: at most
 * `refreshConcurrency` refresh transactions are open at a time, the others wait their turn, and
 * every call still ends in bounded time with the connection kept.
 */
describe('token refreshes one process runs at once are capped', () => {
  let f: Fixture;
  let observer: pg.Client;
  const users: Array<{ apiKey: string; client: Client }> = [];
  before(async () => {
    f = await startAppWithUpstream({
      accessTokenTtl: 4,
      limits: { tokenTimeoutMs: TOKEN_TIMEOUT_MS, refreshRetryDelaysMs: [], refreshConcurrency: CONCURRENCY },
    });
    for (let i = 0; i < USERS; i++) {
      const { apiKey } = await registerAndConnect(f.app, `crowd${i}`);
      users.push({ apiKey, client: await connectMcp(f.app.url, apiKey) });
    }
    observer = new pg.Client({ connectionString: f.db.url });
    await observer.connect();
  });
  after(async () => {
    f.upstream.setTokenEndpointHanging(false);
    await Promise.all(users.map((u) => u.client.close()));
    await observer.end();
    await f.close();
  });

  /** Sessions of the app sitting in an open transaction: a refresh waiting on its token request. */
  async function openTransactions(): Promise<number> {
    const { rows } = await observer.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    return rows[0]?.n ?? 0;
  }

  it('with the token endpoint hanging, at most the cap of refreshes hold a database connection, and every call ends', async () => {
    const expiries = await Promise.all(users.map((u) => tokenExpiry(f.app, u.apiKey)));
    await sleepUntil(Math.max(...expiries.map((e) => e.getTime())) + 50);
    f.upstream.setTokenEndpointHanging(true);
    const refreshesBefore = f.upstream.tokenCalls.refresh_token;

    let sampling = true;
    let most = 0;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, await openTransactions());
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const started = Date.now();
    const results = await Promise.all(users.map((u) => u.client.callTool({ name: 'whoami', arguments: {} })));
    const elapsed = Date.now() - started;
    sampling = false;
    await sampler;

    assert.ok(most >= 1, 'the refreshes were seen holding connections');
    assert.ok(most <= CONCURRENCY, `${most} refresh transactions were open at once`);
    for (const result of results) {
      assert.equal(result.isError, true);
      assert.match(textOf(result), /Could not refresh your Acme access: .*Your connection is kept/);
    }
    // Waiters queue for a slot for as long as they would for another instance's row lock
    // (token timeout + 2 s); those that got one had their request cut off at the timeout.
    const calls = f.upstream.tokenCalls.refresh_token - refreshesBefore;
    assert.ok(calls >= CONCURRENCY && calls <= USERS, `${calls} token requests`);
    assert.ok(elapsed < TOKEN_TIMEOUT_MS * 3 + 2_000 + 3_000, `took ${elapsed} ms`);
    for (const u of users) assert.equal((await connectionStatus(f.app, u.apiKey)).connected, true);
  });
});
