import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { registerAndConnect, startApp, startAppWithUpstream } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = randomBytes(24).toString('base64url');

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

/** The value of one sample line, e.g. `name{a="b"}`; 0 when the series is not there yet. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function scrape(url: string, token = TOKEN): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe('GET /metrics', () => {
  let f: Fixture;
  let alice: Client;
  let aliceKey: string;
  let aliceId: string;

  before(async () => {
    f = await startAppWithUpstream({ metricsToken: TOKEN });
    ({ apiKey: aliceKey, userId: aliceId } = await registerAndConnect(f.app, 'alice'));
    alice = await connectMcp(f.app.url, aliceKey);
  });
  after(async () => {
    await alice.close();
    await f.close();
  });

  it('is not served on the main port without METRICS_TOKEN', async () => {
    const db = await createTestDatabase();
    const plain = await startApp({ databaseUrl: db.url });
    try {
      const res = await fetch(`${plain.url}/metrics`);
      assert.equal(res.status, 404);
      assert.doesNotMatch(await res.text(), /mcp_proxy_/);
    } finally {
      await plain.close();
      await db.drop();
    }
  });

  it('with METRICS_TOKEN, refuses a missing or wrong token and serves the right one', async () => {
    const none = await fetch(`${f.app.url}/metrics`);
    assert.equal(none.status, 401);
    assert.doesNotMatch(await none.text(), /mcp_proxy_/);
    const wrong = await fetch(`${f.app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    assert.equal(wrong.status, 401);
    // An API key is not the metrics token.
    const apiKey = await fetch(`${f.app.url}/metrics`, { headers: { authorization: `Bearer ${aliceKey}` } });
    assert.equal(apiKey.status, 401);
    const text = await scrape(f.app.url);
    for (const name of [
      'mcp_proxy_http_requests_total',
      'mcp_proxy_http_request_duration_seconds',
      'mcp_proxy_tool_calls_total',
      'mcp_proxy_upstream_request_duration_seconds',
      'mcp_proxy_token_refreshes_total',
      'mcp_proxy_rate_limit_refusals_total',
      'mcp_proxy_db_pool_connections',
      'mcp_proxy_cache_hit_ratio',
      'mcp_proxy_cache_lookups_total',
      'mcp_proxy_usage_sync_lag_seconds',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.ok(sample(text, 'mcp_proxy_db_pool_connections{state="total"}') >= 1);
  });

  it('counters move after a real tool call, and no label carries a user id, key or token', async () => {
    const before = await scrape(f.app.url);
    const result = await alice.callTool({ name: 'whoami', arguments: {} });
    assert.deepEqual(JSON.parse(textOf(result)), { id: 'alice', login: 'alice' });
    const failed = await alice.callTool({ name: 'status', arguments: { code: 503 } });
    assert.equal(failed.isError, true);
    const text = await scrape(f.app.url);

    const delta = (series: string): number => sample(text, series) - sample(before, series);
    assert.equal(delta('mcp_proxy_tool_calls_total{provider="acme",tool="whoami",outcome="ok"}'), 1);
    assert.equal(delta('mcp_proxy_tool_calls_total{provider="acme",tool="status",outcome="error"}'), 1);
    assert.ok(delta('mcp_proxy_http_requests_total{method="POST",route="/mcp",status_class="2xx"}') >= 2);
    assert.equal(delta('mcp_proxy_upstream_request_duration_seconds_count{provider="acme",status="2xx"}'), 1);
    assert.equal(delta('mcp_proxy_upstream_request_duration_seconds_count{provider="acme",status="5xx"}'), 1);
    assert.ok(delta('mcp_proxy_cache_lookups_total{cache="key_proofs",result="hit"}') >= 2);
    assert.ok(delta('mcp_proxy_cache_lookups_total{cache="connections",result="hit"}') >= 1);
    // Express routes count by pattern: the connect flow above shows up without its provider in the path.
    assert.ok(sample(text, 'mcp_proxy_http_requests_total{method="GET",route="/api/connect/:provider/start",status_class="2xx"}') >= 1);

    const upstreamTokens = f.upstream.apiRequests.map((r) => (r.authorization ?? '').replace(/^Bearer /, '')).filter(Boolean);
    assert.ok(upstreamTokens.length > 0);
    for (const secret of [aliceKey, aliceKey.slice(0, 12), aliceId, ...upstreamTokens]) assert.equal(text.includes(secret), false);
  });

  it('counts refusals by the per-address limit on wrong keys', async () => {
    const before = sample(await scrape(f.app.url), 'mcp_proxy_rate_limit_refusals_total{limit="failed_auth_address"}');
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const res = await fetch(`${f.app.url}/api/keys`, { headers: { authorization: `Bearer sk_live_wrong${i}_${'x'.repeat(30)}` } });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    assert.ok(statuses.includes(429));
    const after = sample(await scrape(f.app.url), 'mcp_proxy_rate_limit_refusals_total{limit="failed_auth_address"}');
    assert.equal(after - before, statuses.filter((s) => s === 429).length);
  });
});

describe('METRICS_PORT', () => {
  it('serves /metrics on its own port only, without a token, and not on the main port', { timeout: 30_000 }, async () => {
    const db = await createTestDatabase();
    const [port, metricsPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(metricsPort), ENCRYPTION_KEY: randomBytes(32).toString('base64'), NODE_ENV: 'test', LOG_LEVEL: 'warn', PROVIDERS_FILE: '', METRICS_TOKEN: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const deadline = Date.now() + 20_000;
      let text: string | undefined;
      while (text === undefined && Date.now() < deadline) {
        assert.equal(child.exitCode, null, stderr);
        try {
          const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
          if (res.status === 200) text = await res.text();
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      assert.ok(text, `no metrics within 20 s: ${stderr}`);
      assert.match(text, /^# TYPE mcp_proxy_db_pool_connections gauge/m);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/api/keys`)).status, 404);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await db.drop();
    }
  });
});
