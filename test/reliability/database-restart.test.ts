import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runProcess } from '../support/run-process.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { runMigrations } from '../../src/db/migrate.js';
import { bearer, connectionStatus, registerAndConnect, startApp, upstreamProvider, type TestApp } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { freePort, startOwnPostgres, type OwnPostgres } from '../support/own-postgres.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/** One observed answer during the load. */
interface Outcome {
  at: number;
  ms: number;
  kind: 'ok' | 'tool_error' | 'http_error';
  text: string;
  status?: number;
}

/** Seconds of steady load before the stop, the outage itself, and load after the start. */
const BEFORE_MS = 1_500;
const OUTAGE_MS = 3_000;
const AFTER_MS = 4_000;
/** A request that takes longer than this during the outage counts as a hang. */
const HANG_MS = 7_000;

/** Internal addresses a client must never be shown (the database's host:port, or its socket). */
function leaksAddress(text: string, pg: OwnPostgres): boolean {
  return text.includes(String(pg.port)) || /ECONNREFUSED|127\.0\.0\.1|::1|\/tmp\/|\.s\.PGSQL/.test(text) || /\n\s+at /.test(text);
}

describe('database restart under load', () => {
  let pg: OwnPostgres;
  let upstream: TestUpstream;
  let app: TestApp;
  const clients: Client[] = [];

  before(async () => {
    pg = await startOwnPostgres();
    await runMigrations(pg.url);
    app = await startApp({
      databaseUrl: pg.url,
      providers: async (url) => {
        upstream = await startUpstream({ redirectUris: [`${url}/api/connect/acme/callback`] });
        return [upstreamProvider(upstream)];
      },
      // Short caches, so the outage is really met rather than hidden by a cached key or row.
      connectionCacheMs: 200,
      // Four busy workers on two keys would meet the per-key limit (300/min), which has tests of its own.
      limits: { keyPerMinute: 100_000, keyPerHour: 1_000_000 },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await app?.close();
    await upstream?.close();
    await pg?.destroy();
  });

  it('answers 503s or temporarily-unavailable tool results during the outage, recovers by itself, loses nothing', async () => {
    const users = [await registerAndConnect(app, 'ann'), await registerAndConnect(app, 'bob')];
    for (const u of users) clients.push(await connectMcp(app.url, u.apiKey));
    const auditBefore = Number((await app.pool.query('SELECT count(*) AS n FROM audit_events')).rows[0].n);

    const outcomes: Outcome[] = [];
    const ready: Array<{ at: number; status: number }> = [];
    const api: Outcome[] = [];
    const t0 = Date.now();
    let running = true;

    const callLoop = async (client: Client, owner: string, worker: number): Promise<void> => {
      for (let i = 0; running; i++) {
        const started = Date.now();
        try {
          const result = await client.callTool({ name: 'get_item', arguments: { id: `w${worker}-${i}` } }, undefined, { timeout: 15_000 });
          const text = textOf(result);
          if (result.isError) outcomes.push({ at: started - t0, ms: Date.now() - started, kind: 'tool_error', text });
          else {
            assert.deepEqual(JSON.parse(text), { id: `w${worker}-${i}`, q: null, owner });
            outcomes.push({ at: started - t0, ms: Date.now() - started, kind: 'ok', text });
          }
        } catch (err) {
          const status = (err as { code?: unknown }).code;
          outcomes.push({ at: started - t0, ms: Date.now() - started, kind: 'http_error', text: String((err as Error).message), ...(typeof status === 'number' ? { status } : {}) });
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const pollReady = async (): Promise<void> => {
      while (running) {
        const res = await fetch(`${app.url}/readyz`, { signal: AbortSignal.timeout(HANG_MS) });
        await res.arrayBuffer();
        ready.push({ at: Date.now() - t0, status: res.status });
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const pollApi = async (apiKey: string): Promise<void> => {
      while (running) {
        const started = Date.now();
        const res = await fetch(`${app.url}/api/connect/acme/status`, { headers: bearer(apiKey), signal: AbortSignal.timeout(HANG_MS) });
        const text = await res.text();
        api.push({ at: started - t0, ms: Date.now() - started, kind: res.status === 200 ? 'ok' : 'http_error', text, status: res.status });
        await new Promise((r) => setTimeout(r, 250));
      }
    };

    const load = Promise.all([
      callLoop(clients[0]!, 'ann', 0),
      callLoop(clients[0]!, 'ann', 1),
      callLoop(clients[1]!, 'bob', 2),
      callLoop(clients[1]!, 'bob', 3),
      pollReady(),
      pollApi(users[0]!.apiKey),
    ]);
    await new Promise((r) => setTimeout(r, BEFORE_MS));
    const stoppedAt = Date.now() - t0;
    await pg.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await pg.start();
    const startedAt = Date.now() - t0;
    await new Promise((r) => setTimeout(r, AFTER_MS));
    running = false;
    await load;

    const failed = [...outcomes, ...api].filter((o) => o.kind !== 'ok');
    const kinds = new Map<string, number>();
    for (const o of failed) kinds.set(`${o.kind} ${o.status ?? ''} ${o.text.slice(0, 90)}`, (kinds.get(`${o.kind} ${o.status ?? ''} ${o.text.slice(0, 90)}`) ?? 0) + 1);
    const firstOkAfter = outcomes.find((o) => o.at > startedAt && o.kind === 'ok');
    const summary = JSON.stringify(
      {
        stoppedAt,
        startedAt,
        calls: outcomes.length,
        ok: outcomes.filter((o) => o.kind === 'ok').length,
        slowestMs: Math.max(...outcomes.map((o) => o.ms), ...api.map((o) => o.ms)),
        firstOkAfterStartMs: firstOkAfter ? firstOkAfter.at + firstOkAfter.ms - startedAt : null,
        failures: Object.fromEntries(kinds),
        ready: ready.map((r) => `${r.at}:${r.status}`).join(' '),
      },
      null,
      1,
    );
    console.log(summary);

    // Every failure is a clear one: a 503 or a tool result saying so, never a 500, a hang or an address.
    for (const o of [...outcomes, ...api]) {
      assert.ok(o.ms < HANG_MS, `answered within ${HANG_MS} ms: ${JSON.stringify(o)}`);
      if (o.kind === 'ok') continue;
      assert.ok(!leaksAddress(o.text, pg), `no internal address or stack: ${o.text}`);
      if (o.kind === 'http_error') assert.equal(o.status, 503, `an outage is a 503: ${JSON.stringify(o)}`);
      else assert.match(o.text, /temporarily unavailable/i, `tool result says why: ${o.text}`);
    }
    // Something did fail: the outage was really met (not hidden by caches).
    assert.ok([...outcomes, ...api].some((o) => o.kind !== 'ok'), summary);
    // /readyz: 200, then 503 while stopped, then 200 again.
    assert.equal(ready.find((r) => r.at < stoppedAt)?.status, 200, summary);
    assert.ok(ready.some((r) => r.at > stoppedAt && r.at < startedAt && r.status === 503), summary);
    assert.equal(ready.at(-1)?.status, 200, summary);
    // Recovered without a restart: the last second of calls all succeeded, for both users.
    const late = outcomes.filter((o) => o.at > startedAt + AFTER_MS - 1_500);
    assert.ok(late.length > 4 && late.every((o) => o.kind === 'ok'), summary);

    // Nothing lost: keys, connections, audit rows, usage counts.
    for (const [i, u] of users.entries()) {
      const status = await connectionStatus(app, u.apiKey);
      assert.equal(status.connected, true, `user ${i} still connected`);
    }
    const auditAfter = Number((await app.pool.query('SELECT count(*) AS n FROM audit_events')).rows[0].n);
    assert.ok(auditAfter >= auditBefore, `audit rows kept: ${auditBefore} → ${auditAfter}`);
    await new Promise((r) => setTimeout(r, 500));
    let counted = 0;
    for (const u of users) {
      const res = await fetch(`${app.url}/api/usage`, { headers: bearer(u.apiKey) });
      assert.equal(res.status, 200);
      const { usage } = (await res.json()) as { usage: Array<{ ok: number }> };
      counted += usage.reduce((n, row) => n + row.ok, 0);
    }
    const succeeded = outcomes.filter((o) => o.kind === 'ok').length;
    assert.ok(counted >= succeeded, `usage counts ${counted} ≥ ${succeeded} calls that succeeded`);
  });
});

describe('database unreachable at start-up', () => {
  it('exits non-zero with one clear line, no stack trace', async () => {
    // A port nothing listens on: the shared server is never involved.
    const port = await freePort();
    const result = await runProcess(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      timeoutMs: 25_000,
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, DATABASE_URL: `postgres://postgres:s3cret@127.0.0.1:${port}/x`, ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    });
    assert.equal(result.timedOut, false, 'it gives up rather than hanging');
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /failed to start/);
    // Issue 18, item 10: it names the database, where it is set, and where it was looked for — never the password.
    assert.match(result.stderr, new RegExp(`cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}/x \\(DATABASE_URL\\)`));
    assert.doesNotMatch(result.stderr, /s3cret/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });
});
