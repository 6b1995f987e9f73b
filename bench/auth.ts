/**
 * `npm run bench:auth` — does a warm API key cost any bcrypt? (not part of `npm test`)
 *
 * Starts the real app in this process on 127.0.0.1 against a fresh test database (PostgreSQL at
 * TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres), warms one key, then
 * drives each endpoint with a bounded concurrent fetch loop over loopback:
 *
 *   GET /healthz     no authentication: the ceiling for this process
 *   GET /mcp         authentication + rate limit, then 405 (no database)
 *   GET /api/keys    authentication + rate limit + one database query
 *
 * and, for scale, how many bcrypt compares per second this machine manages: the most requests
 * per second an API that bcrypts every request could ever serve. Prints requests/s, latencies,
 * the authenticated/healthz ratio and the bcrypt compares counted during the warm runs (must be 0).
 *
 * The endpoints take turns for BENCH_ROUNDS rounds after a warm-up, and each reports its median
 * round, so a noisy neighbour on a shared machine skews all three alike.
 *
 * Options (env): BENCH_SECONDS (per endpoint per round, default 3), BENCH_ROUNDS (default 3),
 * BENCH_CONCURRENCY (default 32).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import bcrypt from 'bcrypt';
import { register, startApp } from '../test/support/app.js';
import { createTestDatabase } from '../test/support/database.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const MAX_REQUESTS = 1_000_000;

// Count every bcrypt compare the app makes (the gate calls bcrypt.compare through this object).
let compares = 0;
const compare = bcrypt.compare.bind(bcrypt);
(bcrypt as { compare: typeof bcrypt.compare }).compare = ((data: string, hash: string) => {
  compares += 1;
  return compare(data, hash);
}) as typeof bcrypt.compare;

interface Run {
  name: string;
  requests: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  statuses: Record<number, number>;
}

async function drive(name: string, url: string, headers: Record<string, string>, seconds = SECONDS): Promise<Run> {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const deadline = performance.now() + seconds * 1000;
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && issued < MAX_REQUESTS) {
      issued += 1;
      const started = performance.now();
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 100) / 100;
  return { name, requests: latencies.length, perSecond: Math.round(latencies.length / elapsed), p50ms: at(0.5), p99ms: at(0.99), statuses };
}

async function bcryptPerSecond(hash: string, secret: string): Promise<number> {
  const deadline = performance.now() + 2_000;
  let done = 0;
  const started = performance.now();
  // libuv's default pool has 4 threads: 4 at a time is the most bcrypt this process can do.
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < deadline) {
        await compare(secret, hash);
        done += 1;
      }
    }),
  );
  return Math.round(done / ((performance.now() - started) / 1000));
}

const db = await createTestDatabase();
const app = await startApp({ databaseUrl: db.url, limits: { keyPerMinute: 100_000_000, keyPerHour: 100_000_000 } });
try {
  const { apiKey } = await register(app, 'bench');
  const auth = { authorization: `Bearer ${apiKey}` };
  const warm = await fetch(`${app.url}/api/keys`, { headers: auth });
  if (warm.status !== 200) throw new Error(`warming the key failed: ${warm.status}`);
  const comparesBefore = compares;

  const targets: Array<[string, string, Record<string, string>]> = [
    ['GET /healthz (no auth)', `${app.url}/healthz`, {}],
    ['GET /mcp (auth only, 405)', `${app.url}/mcp`, { ...auth, accept: 'text/event-stream' }],
    ['GET /api/keys (auth + 1 query)', `${app.url}/api/keys`, auth],
  ];
  for (const [name, url, headers] of targets) await drive(name, url, headers, 1); // JIT and connection warm-up
  const rounds: Run[][] = targets.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [name, url, headers]] of targets.entries()) rounds[i]?.push(await drive(name, url, headers));
  }
  const runs = rounds.map((list) => [...list].sort((x, y) => x.perSecond - y.perSecond)[Math.floor(list.length / 2)] as Run);
  const warmCompares = compares - comparesBefore;
  const { rows } = await app.pool.query<{ secret_hash: string }>('SELECT secret_hash FROM api_keys LIMIT 1');
  const bcryptRate = await bcryptPerSecond(rows[0]?.secret_hash as string, apiKey);

  const health = runs[0] as Run;
  console.log(`\nbench:auth — median of ${ROUNDS} rounds of ${SECONDS} s per endpoint, ${CONCURRENCY} concurrent, loopback, Node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]?.toFixed(1)}\n`);
  for (const r of runs) {
    const ratio = r === health ? '' : `  ${(r.perSecond / health.perSecond).toFixed(2)} × healthz`;
    console.log(`${r.name.padEnd(32)} ${String(r.perSecond).padStart(7)} req/s  p50 ${r.p50ms} ms  p99 ${r.p99ms} ms  ${JSON.stringify(r.statuses)}${ratio}`);
  }
  const authenticated = rounds.slice(1).flat().reduce((n, r) => n + r.requests, 0);
  console.log(`\nbcrypt compares during the warm runs: ${warmCompares} (for ${authenticated} authenticated requests)`);
  console.log(`bcrypt compare (cost 10) on this machine: ${bcryptRate}/s with 4 threads — the ceiling of an API that bcrypts every request\n`);

  const results = { at: new Date().toISOString(), seconds: SECONDS, rounds: ROUNDS, concurrency: CONCURRENCY, node: process.version, cpus: os.cpus().length, runs, warmCompares, bcryptPerSecond: bcryptRate };
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  await writeFile(new URL(`auth-${results.at.replace(/[:.]/g, '-')}.json`, dir), `${JSON.stringify(results, null, 2)}\n`);
  if (warmCompares !== 0) process.exitCode = 1;
} finally {
  await app.close();
  await db.drop();
}
