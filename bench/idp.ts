/**
 * `npm run bench:idp` — a tools/call with an IdP JWT access token vs with an `sk_` key (issue 13:
 * the JWT path within 10 %). Not part of `npm test`.
 *
 * Starts, in this process: a real oidc-provider issuing RFC 9068 JWT access tokens, an API-key
 * upstream, and the real app against a fresh test database with IDP_ISSUER set. One person has
 * both a key and a JWT; both call `hitl_whoami` (a real upstream round trip, with the operator's
 * fallback key). The two take turns for BENCH_ROUNDS rounds after a warm-up and each reports its
 * median round, so a noisy neighbour on a shared machine skews both alike; the median of the
 * per-round ratios is printed too. Each row also gives this process's CPU per call and the SQL
 * statements per call (a warm IdP token adds none: one read per 5 s for its user's standing).
 *
 * Options (env): BENCH_SECONDS (per target per round, default 4), BENCH_ROUNDS (default 3),
 * BENCH_CONCURRENCY (default 16).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { Pool } from '../src/db/pool.js';
import { register, startApp } from '../test/support/app.js';
import { createTestDatabase } from '../test/support/database.js';
import { startIdp } from '../test/support/idp.js';
import { keyProvider, startKeyUpstream } from '../test/support/key-upstream.js';
import { measureVerifySteps, VERIFICATIONS_PER_STEP } from './verify-step.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

interface Run {
  name: string;
  requests: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  /** This process's CPU (user + system) per call: load generator, app and upstream alike, so only the difference is the auth path. */
  cpuUsPerCall: number;
  /** SQL statements the app sent per call, background work (usage flush and sync) included. */
  statementsPerCall: number;
  statuses: Record<number, number>;
}

const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hitl_whoami', arguments: {} } });

async function drive(name: string, url: string, token: string, seconds = SECONDS): Promise<Run> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const deadline = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const res = await fetch(url, { method: 'POST', headers, body: CALL });
      const body = await res.text();
      latencies.push(performance.now() - started);
      const status = res.status === 200 && body.includes('"isError":true') ? 599 : res.status;
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const statementsBefore = statements;
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 100) / 100;
  return { name, requests: latencies.length, perSecond: Math.round(latencies.length / elapsed), p50ms: at(0.5), p99ms: at(0.99), cpuUsPerCall: Math.round((cpu.user + cpu.system) / Math.max(1, latencies.length)),
    statementsPerCall: Math.round(((statements - statementsBefore) / Math.max(1, latencies.length)) * 1000) / 1000,
    statuses,
  };
}

let statements = 0;
/** Counts what the app asks of PostgreSQL: a warm token must add nothing. */
function countingPool(pool: Pool): Pool {
  return {
    query: (...args: unknown[]) => {
      statements++;
      return (pool.query as (...a: unknown[]) => unknown)(...args);
    },
    connect: () => {
      statements++;
      return pool.connect();
    },
  } as unknown as Pool;
}

const db = await createTestDatabase();
const idp = await startIdp();
const upstream = await startKeyUpstream({ accounts: { 'hk-operator': 'operator' }, style: { header: 'Authorization', template: 'Bearer {key}' } });
const app = await startApp({
  databaseUrl: db.url,
  providers: [keyProvider(upstream, { fallback_key: 'hk-operator' })],
  idpEnv: { IDP_ISSUER: idp.issuer },
  logLevel: 'warn',
  wrapPool: countingPool,
  // Above the load: a call refused by a limit is cheap and would flatter whichever path hits it more.
  limits: { keyPerMinute: 100_000_000, keyPerHour: 100_000_000, toolCallsInFlightPerUser: CONCURRENCY * 2, toolCallsInFlightPerKey: CONCURRENCY * 2 },
});
try {
  const { apiKey } = await register(app, 'bench');
  const jwt = await idp.accessToken('bench', `${app.url}/mcp`);
  const mcp = `${app.url}/mcp`;
  const targets: Array<[string, string]> = [
    ['tools/call with an sk_ key', apiKey],
    ['tools/call with an IdP JWT', jwt],
  ];
  for (const [name, token] of targets) await drive(name, mcp, token, 1); // JIT, pools, caches
  const jwksBefore = idp.jwksFetches;
  const rounds: Run[][] = targets.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [name, token]] of targets.entries()) rounds[i]?.push(await drive(name, mcp, token));
  }
  const runs = rounds.map((list) => [...list].sort((x, y) => x.perSecond - y.perSecond)[Math.floor(list.length / 2)] as Run);
  const [key, idpRun] = runs as [Run, Run];
  const ratio = Math.round((idpRun.perSecond / key.perSecond) * 100) / 100;
  const cpuRatio = Math.round((idpRun.cpuUsPerCall / key.cpuUsPerCall) * 100) / 100;
  // The two ran back to back in each round: the per-round ratio cancels load that drifts between rounds.
  const pairs = (rounds[1] ?? []).map((r, i) => r.perSecond / (rounds[0]?.[i]?.perSecond ?? Infinity)).sort((a, b) => a - b);
  const pairRatio = Math.round((pairs[Math.floor(pairs.length / 2)] ?? 0) * 100) / 100;

  console.log(`\nbench:idp — median of ${ROUNDS} rounds of ${SECONDS} s per target, ${CONCURRENCY} concurrent, loopback, Node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]?.toFixed(1)}\n`);
  for (const r of runs) console.log(`${r.name.padEnd(30)} ${String(r.perSecond).padStart(7)} req/s  p50 ${r.p50ms} ms  p99 ${r.p99ms} ms  CPU ${r.cpuUsPerCall} µs/call  SQL ${r.statementsPerCall}/call  ${JSON.stringify(r.statuses)}`);
  console.log(`\nIdP JWT / sk_ key: ${ratio}× the throughput (target ≥ 0.9; median of the per-round ratios ${pairRatio}×), ${cpuRatio}× the CPU per call`);
  console.log(`per-round throughput ratios: ${pairs.map((p) => p.toFixed(2)).join(' ')}   JWKS fetches during the runs: ${idp.jwksFetches - jwksBefore}\n`);

  // The auth step alone, with no HTTP, upstream or load generator around it: what the 10 % is about.
  const statementsBeforeSteps = statements;
  const steps = await measureVerifySteps({ pool: countingPool(app.pool), publicUrl: app.url, issuer: idp.issuer, apiKey, jwt });
  const stepStatements = statements - statementsBeforeSteps;
  for (const step of steps) console.log(`${step.name.padEnd(30)} ${String(step.cpuNsPerVerify).padStart(7)} ns CPU per verification`);
  const stepRatio = Math.round(((steps[1]?.cpuNsPerVerify ?? 0) / (steps[0]?.cpuNsPerVerify ?? 1)) * 100) / 100;
  console.log(`IdP JWT / sk_ key: ${stepRatio}× the CPU per verification; SQL statements during ${steps.length * VERIFICATIONS_PER_STEP} warm verifications: ${stepStatements}\n`);

  const results = { at: new Date().toISOString(), seconds: SECONDS, rounds: ROUNDS, concurrency: CONCURRENCY, node: process.version, cpus: os.cpus().length, runs, ratio, pairRatio, cpuRatio, steps, stepRatio, stepStatements, jwksFetches: idp.jwksFetches - jwksBefore };
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  await writeFile(new URL(`idp-${results.at.replace(/[:.]/g, '-')}.json`, dir), `${JSON.stringify(results, null, 2)}\n`);
  if (ratio < 0.9 || Object.keys(idpRun.statuses).some((s) => s !== '200')) process.exitCode = 1;
} finally {
  await app.close();
  await Promise.all([idp.close(), upstream.close()]);
  await db.drop();
}
