/**
 * `npm run bench:idp` — a tools/call with an IdP JWT access token vs with an `sk_` key (issue 13:
 * the JWT path within 10 %). Not part of `npm test`.
 *
 * Starts, in this process: a real oidc-provider issuing RFC 9068 JWT access tokens, an API-key
 * upstream, and the real app against a fresh test database with IDP_ISSUER set. One person has
 * both a key and a JWT; both call `hitl_whoami` (a real upstream round trip, with the operator's
 * fallback key). The two take turns for BENCH_ROUNDS rounds after a warm-up and each reports its
 * median round, so a noisy neighbour on a shared machine skews both alike.
 *
 * Options (env): BENCH_SECONDS (per target per round, default 4), BENCH_ROUNDS (default 3),
 * BENCH_CONCURRENCY (default 16).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { register, startApp } from '../test/support/app.js';
import { createTestDatabase } from '../test/support/database.js';
import { startIdp } from '../test/support/idp.js';
import { keyProvider, startKeyUpstream } from '../test/support/key-upstream.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

interface Run {
  name: string;
  requests: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
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
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 100) / 100;
  return { name, requests: latencies.length, perSecond: Math.round(latencies.length / elapsed), p50ms: at(0.5), p99ms: at(0.99), statuses };
}

const db = await createTestDatabase();
const idp = await startIdp();
const upstream = await startKeyUpstream({ accounts: { 'hk-operator': 'operator' }, style: { header: 'Authorization', template: 'Bearer {key}' } });
const app = await startApp({
  databaseUrl: db.url,
  providers: [keyProvider(upstream, { fallback_key: 'hk-operator' })],
  idpEnv: { IDP_ISSUER: idp.issuer },
  logLevel: 'warn',
  limits: { keyPerMinute: 100_000_000, keyPerHour: 100_000_000 },
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

  console.log(`\nbench:idp — median of ${ROUNDS} rounds of ${SECONDS} s per target, ${CONCURRENCY} concurrent, loopback, Node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]?.toFixed(1)}\n`);
  for (const r of runs) console.log(`${r.name.padEnd(30)} ${String(r.perSecond).padStart(7)} req/s  p50 ${r.p50ms} ms  p99 ${r.p99ms} ms  ${JSON.stringify(r.statuses)}`);
  console.log(`\nIdP JWT / sk_ key: ${ratio}× (target ≥ 0.9)   JWKS fetches during the runs: ${idp.jwksFetches - jwksBefore}\n`);

  const results = { at: new Date().toISOString(), seconds: SECONDS, rounds: ROUNDS, concurrency: CONCURRENCY, node: process.version, cpus: os.cpus().length, runs, ratio, jwksFetches: idp.jwksFetches - jwksBefore };
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  await writeFile(new URL(`idp-${results.at.replace(/[:.]/g, '-')}.json`, dir), `${JSON.stringify(results, null, 2)}\n`);
  if (ratio < 0.9 || Object.keys(idpRun.statuses).some((s) => s !== '200')) process.exitCode = 1;
} finally {
  await app.close();
  await Promise.all([idp.close(), upstream.close()]);
  await db.drop();
}
