import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { Pool } from '../../src/db/pool.js';
import { bearer, register, registerAndConnect, startApp, tokenExpiry, upstreamProvider, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { eventually, sleep, sleepUntil } from '../support/time.js';

/**
 * Issue 15, "slow and many clients": a hanging upstream for one provider must not slow other
 * providers' calls, nor take the database pool (10 connections per process).
 *
 * - A REST tool call holds no database connection while it waits upstream: the connection row is
 *   read (or found in the cache) and the client released before the request is sent.
 * - A token refresh does hold one across its token request, by design: the row lock
 *   (`SELECT … FOR UPDATE`) is what keeps two instances from spending a rotating refresh token
 *   twice, and PostgreSQL drops it the moment a crashed holder's connection closes
 *   (docs/reliability.md). At most 4 refreshes run at once per process (refresh-slots.ts), each
 *   bounded by the token timeout and the call's deadline, so 6 of the 10 stay free.
 */
const REFRESH_SLOTS = 4;
const POOL_SIZE = 10;
/**
 * Background work that may hold one connection each, at any moment, whatever the calls do: the
 * usage writer (every 100 ms), the rate-limit sync and the change feed (each once a second). They
 * can overlap, so a bound tighter than this is a race, not a finding (CI once saw 2).
 */
const BACKGROUND_TASKS = 3;

describe('a hanging upstream for one provider leaves the other providers and the database pool alone', () => {
  let db: TestDatabase;
  let app: TestApp;
  let acme: TestUpstream;
  let beta: KeyUpstream;
  /** Accepts connections and never answers. */
  const wedged: Server = createServer(() => undefined);

  before(async () => {
    db = await createTestDatabase();
    beta = await startKeyUpstream({ accounts: { 'beta-shared-key-1234': 'shared' }, style: { header: 'Authorization', template: 'Bearer {key}' } });
    await new Promise<void>((resolve) => wedged.listen(0, '127.0.0.1', resolve));
    app = await startApp({
      databaseUrl: db.url,
      env: { BETA_KEY: 'beta-shared-key-1234', STUCK_KEY: 'stuck-shared-key-1234' },
      // Token requests end at 5 s; a call at 12 s. Each user may have 8 calls in flight per upstream.
      limits: { tokenTimeoutMs: 5_000, callTimeoutMs: 12_000, refreshRetryDelaysMs: [], keyPerMinute: 10_000 },
      providers: async (url) => {
        acme = await startUpstream({ redirectUris: [`${url}/api/connect/acme/callback`], accessTokenTtl: 3 });
        return [
          upstreamProvider(acme),
          keyProvider(beta, { id: 'beta', name: 'Beta', validate: undefined, fallback_key: '${BETA_KEY}' }),
          {
            id: 'stuck', name: 'Stuck', auth: 'api_key', api_key: { header: 'Authorization', template: 'Bearer {key}' }, fallback_key: '${STUCK_KEY}',
            api_base_url: `http://127.0.0.1:${(wedged.address() as AddressInfo).port}/v1`,
            tools: [{ name: 'stuck_me', description: 'Never answers', method: 'GET', path: '/me' }],
          },
        ];
      },
    });
  });
  after(async () => {
    wedged.closeAllConnections();
    await new Promise((resolve) => wedged.close(resolve));
    await app.close();
    await acme.close();
    await beta.close();
    await db.drop();
  });

  it('an API that never answers: 80 calls hang on it while other providers are served, /readyz stays 200, no pool connection is held', async (t) => {
    const connected = await registerAndConnect(app, 'anna');
    const hangers = await Promise.all(Array.from({ length: 10 }, (_, i) => register(app, `hanger ${i}`)));
    // First uses one by one: more than 3 never-checked keys at once from one address are refused by
    // design (src/auth/refused-keys.ts), and that is not what this test is about.
    for (const u of hangers) assert.equal((await fetch(`${app.url}/api/keys`, { headers: bearer(u.apiKey) })).status, 200);
    const hanging = hangers.flatMap((u) => Array.from({ length: 8 }, () => callTool(app.url, u.apiKey, 'stuck_me')));
    await eventually(async () => (await connectionsTo(wedged)) >= 80, 10_000);

    // With only the hanging calls under way, the pool is idle but for the background tasks: no
    // call holds a connection upstream (if one did, 80 calls would take all 10 and queue).
    const idle = await watchPool(app.pool, 300);
    assert.ok(idle.maxCheckedOut <= BACKGROUND_TASKS && idle.maxWaiting === 0, `${idle.maxCheckedOut} connections checked out, ${idle.maxWaiting} waiting, while 80 calls hung`);

    const started = Date.now();
    const [acmeCalls, betaCalls, ready] = await Promise.all([
      Promise.all(Array.from({ length: 8 }, () => callTool(app.url, connected.apiKey, 'whoami'))),
      Promise.all(hangers.map((u) => callTool(app.url, u.apiKey, 'beta_whoami'))),
      Promise.all(Array.from({ length: 5 }, () => fetch(`${app.url}/readyz`).then((r) => r.status))),
    ]);
    t.diagnostic(`80 calls hanging on Stuck: pool at most ${idle.maxCheckedOut} of ${POOL_SIZE} checked out; 8 Acme + 10 Beta calls + 5 /readyz answered in ${Date.now() - started} ms`);
    for (const r of acmeCalls) assert.deepEqual(JSON.parse(okText(r)), { id: 'anna', login: 'anna' });
    for (const r of betaCalls) assert.deepEqual(JSON.parse(okText(r)), { account: 'shared' });
    assert.deepEqual(ready, [200, 200, 200, 200, 200]);

    // The upstream drops them: every hanging call ends with a result that names it.
    wedged.closeAllConnections();
    for (const r of await Promise.all(hanging)) assert.match(errorText(r), /^(Stuck could not be reached|The call to Stuck was stopped)/);
  });

  it('a token endpoint that never answers: refreshes hold at most 4 pool connections, and Beta and /readyz are served meanwhile', async (t) => {
    const users = [];
    for (const name of ['ben', 'cleo', 'dora', 'emil', 'finn', 'gus']) users.push(await registerAndConnect(app, name));
    // Every token has expired: each call needs a refresh, and the token endpoint hangs.
    await sleepUntil(Math.max(...(await Promise.all(users.map((u) => tokenExpiry(app, u.apiKey)))).map((d) => d.getTime())) + 50);
    acme.setTokenEndpointHanging(true);
    t.after(() => acme.setTokenEndpointHanging(false));
    const sentBefore = acme.tokenCalls.refresh_token;

    const refreshing = users.map((u) => callTool(app.url, u.apiKey, 'whoami'));
    await eventually(() => acme.tokenCalls.refresh_token - sentBefore >= REFRESH_SLOTS, 5_000);
    await sleep(50);
    // Each running refresh holds its connection (the row lock) across the token request; the two
    // waiting for a refresh slot hold none.
    const held = await watchPool(app.pool, 300);
    assert.equal(acme.tokenCalls.refresh_token - sentBefore, REFRESH_SLOTS, 'the refresh cap: the other two wait for a slot');
    assert.ok(
      held.maxCheckedOut >= REFRESH_SLOTS && held.maxCheckedOut <= REFRESH_SLOTS + BACKGROUND_TASKS,
      `${held.maxCheckedOut} checked out: the ${REFRESH_SLOTS} refreshes (+${BACKGROUND_TASKS} background tasks at most)`,
    );
    assert.equal(held.maxWaiting, 0);

    const started = Date.now();
    const [betaCalls, ready] = await Promise.all([
      Promise.all(users.map((u) => callTool(app.url, u.apiKey, 'beta_whoami'))),
      Promise.all(Array.from({ length: 5 }, () => fetch(`${app.url}/readyz`).then((r) => r.status))),
    ]);
    t.diagnostic(`6 refreshes against a hanging token endpoint: ${REFRESH_SLOTS} sent, pool at most ${held.maxCheckedOut} of ${POOL_SIZE} checked out; 6 Beta calls + 5 /readyz answered in ${Date.now() - started} ms`);
    for (const r of betaCalls) assert.deepEqual(JSON.parse(okText(r)), { account: 'shared' });
    assert.deepEqual(ready, [200, 200, 200, 200, 200]);

    // Each ends at its bound, with the connection kept.
    for (const r of await Promise.all(refreshing)) assert.match(errorText(r), /Acme/);
  });
});

type ToolAnswer = { result?: { content: Array<{ text: string }>; isError?: boolean }; error?: unknown };

/** One `tools/call` over /mcp (the fast path), as a raw POST. */
async function callTool(url: string, apiKey: string, name: string): Promise<ToolAnswer> {
  const res = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { ...bearer(apiKey), accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as ToolAnswer;
}

function okText(answer: ToolAnswer): string {
  const text = answer.result?.content.map((c) => c.text).join('') ?? JSON.stringify(answer);
  assert.equal(answer.result?.isError, undefined, text);
  return text;
}

function errorText(answer: ToolAnswer): string {
  const text = answer.result?.content.map((c) => c.text).join('') ?? JSON.stringify(answer);
  assert.equal(answer.result?.isError, true, text);
  return text;
}

/** Samples the pool every 5 ms for `ms`: the most connections checked out, and the most requests waiting for one. */
async function watchPool(pool: Pool, ms: number): Promise<{ maxCheckedOut: number; maxWaiting: number }> {
  let maxCheckedOut = 0;
  let maxWaiting = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    maxCheckedOut = Math.max(maxCheckedOut, pool.totalCount - pool.idleCount);
    maxWaiting = Math.max(maxWaiting, pool.waitingCount);
    await sleep(5);
  }
  return { maxCheckedOut, maxWaiting };
}

function connectionsTo(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}
