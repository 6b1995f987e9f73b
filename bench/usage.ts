/**
 * What tool-call accounting costs. Run: node --import tsx bench/usage.ts
 * Needs the test PostgreSQL (TEST_DATABASE_URL or 127.0.0.1:5432); uses a throwaway database.
 *
 * 1. Database statements per warm tool call (API-key provider, key cached), and call latency.
 * 2. record() cost on the hot path.
 * 3. One flush of N distinct counters: one statement, its time.
 */
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import type { Pool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { createUsageRecorder } from '../src/usage/usage-recorder.js';
import { insertUser } from '../src/users/user-store.js';
import { register, startApp } from '../test/support/app.js';
import { createTestDatabase } from '../test/support/database.js';
import { keyProvider, startKeyUpstream } from '../test/support/key-upstream.js';
import { connectMcp } from '../test/support/mcp-client.js';

const CALLS = 500;
const quiet = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const db = await createTestDatabase();
const upstream = await startKeyUpstream({ accounts: { 'hk_bench_key_0123456789': 'bench' }, style: { header: 'X-API-Key' } });
let statements = 0;
const app = await startApp({
  databaseUrl: db.url,
  env: { BENCH_KEY: 'hk_bench_key_0123456789' },
  providers: [keyProvider(upstream, { api_key: { header: 'X-API-Key' }, fallback_key: '${BENCH_KEY}' })],
  usageFlushMs: 600_000,
  wrapPool: (pool) =>
    ({
      query: (...args: unknown[]) => {
        statements++;
        return (pool.query as (...a: unknown[]) => unknown)(...args);
      },
      connect: () => {
        statements++;
        return pool.connect();
      },
    }) as unknown as Pool,
});
try {
  const { apiKey } = await register(app, 'bench');
  const client = await connectMcp(app.url, apiKey);
  await client.callTool({ name: 'hitl_whoami', arguments: {} });
  statements = 0;
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await client.callTool({ name: 'hitl_whoami', arguments: {} });
    times.push(performance.now() - t);
  }
  await client.close();
  times.sort((a, b) => a - b);
  // The key cache holds a verified key for 5 s, so a run longer than that re-verifies now and then.
  console.log(`warm tool calls: ${CALLS}, statements: ${statements} (${(statements / CALLS).toFixed(3)} per call), ` +
    `latency p50 ${percentile(times, 50).toFixed(2)} ms, p95 ${percentile(times, 95).toFixed(2)} ms`);

  const recorder = createUsageRecorder({ db: app.pool, log: quiet });
  const { id } = await insertUser(app.pool, 'bench2');
  const t0 = performance.now();
  for (let i = 0; i < 1_000_000; i++) recorder.record({ userId: id, providerId: 'p', tool: `t${i % 20}`, ok: true });
  console.log(`record(): ${((performance.now() - t0) * 1000 / 1_000_000).toFixed(3)} µs per call (1,000,000 calls, 20 counters)`);
  await recorder.flush();

  for (const n of [1_000, 10_000, 50_000]) {
    const users = await app.pool.query<{ id: string }>(`INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, $1) g RETURNING id`, [n]);
    for (const u of users.rows) recorder.record({ userId: u.id, providerId: 'p', tool: 't', ok: true });
    const t = performance.now();
    await recorder.flush();
    console.log(`flush of ${n} distinct counters: 1 statement, ${(performance.now() - t).toFixed(1)} ms`);
  }
} finally {
  await app.close();
  await upstream.close();
  await db.drop();
}
