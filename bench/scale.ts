/**
 * `npm run bench:scale`: what many *different* users cost (issue 16). N users at rest in the
 * database, K distinct active users with real keys (bcrypt at the server's cost) and a connected
 * account, calling `tools/call` round-robin; K = 1, 1,000 and 20,000 back to back on one server
 * process. Prints req/s, p50/p99, errors, peak RSS and bcrypt compares per K, the hot user on an
 * empty database for comparison, and a cold burst of 1,000 first calls next to a hot key.
 *
 * No set-up beyond `npm install`: the server is the production build on its embedded PostgreSQL,
 * in a data dir of the benchmark's own (`.data/bench-scale/`, BENCH_SCALE_DIR) that is kept, with
 * the minted keys, between runs: only the first run pays for minting (minutes on 2 cores).
 *
 * Options (env): BENCH_SCALE_K (default "1,1000,20000"), BENCH_SCALE_N (100000),
 * BENCH_SCALE_BURST (1000), BENCH_DURATION (seconds per K, 15), BENCH_CONNECTIONS (16).
 * The server is told METRICS_PORT; bcrypt compares are read from its /metrics.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCipher } from '../src/crypto/cipher.js';
import { runningEmbeddedUrl } from '../src/db/embedded-attach.js';
import { mintKeys } from './scale/mint.js';
import { seed, SCALE_PROVIDER } from './scale/seed.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = path.resolve(process.env.BENCH_SCALE_DIR ?? path.join(ROOT, '.data/bench-scale'));
const KS = (process.env.BENCH_SCALE_K ?? '1,1000,20000').split(',').map(Number);
const N = Number(process.env.BENCH_SCALE_N ?? 100_000);
const BURST = Number(process.env.BENCH_SCALE_BURST ?? 1_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const KEYS_FILE = path.join(DATA, 'keys.jsonl');
const children: ChildProcess[] = [];
const say = (line: string): void => void process.stdout.write(`${line}\n`);

interface LoadResult {
  requests_per_sec: number;
  total: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  non_2xx: number;
  seconds: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** One load run in its own process (bench/scale/load.ts); `stop()` ends an open-ended one. */
function load(spec: Record<string, unknown>): { done: Promise<LoadResult>; stop(): void } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/scale/load.ts'), JSON.stringify({ keysFile: KEYS_FILE, connections: CONNECTIONS, ...spec })], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<LoadResult>((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as LoadResult) : reject(new Error(`load exited with ${code}`)))),
  );
  return { done, stop: () => child.kill('SIGINT') };
}

interface Server {
  url: string;
  pid: number;
  compares(): Promise<number>;
  /** The server's V8 heap now (total and used) and memory outside it, in MB, from its /metrics. */
  memory(): Promise<{ heapTotal: number; heapUsed: number; external: number }>;
  /** Highest VmRSS seen since the last call (sampled every 200 ms), in MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

async function startServer(dataDir: string, providersFile: string, encryptionKey: string): Promise<Server> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), 'dist/main.js'], {
    cwd: ROOT,
    env: {
      ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: url, DATA_DIR: dataDir, PROVIDERS_FILE: providersFile, ENCRYPTION_KEY: encryptionKey,
      ENCRYPTION_KEYS: '', DATABASE_URL: '', NODE_ENV: 'production', LOG_LEVEL: 'warn', TRUST_PROXY: 'loopback', METRICS_PORT: String(metricsPort), METRICS_TOKEN: '',
      // Every key calls as fast as it can on purpose: lift the per-key limits above what a run reaches.
      KEY_RATE_LIMIT_PER_MINUTE: '100000000', KEY_RATE_LIMIT_PER_HOUR: '1000000000',
      // The load keeps 16 calls in flight, on one key when K = 1: above the default caps (16 per user, 8 per key).
      TOOL_CALLS_IN_FLIGHT_PER_USER: '1000', TOOL_CALLS_IN_FLIGHT_PER_KEY: '1000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('server not healthy within 120 s');
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  let peak = 0;
  const sampler = setInterval(() => {
    readFile(`/proc/${child.pid}/status`, 'utf8').then((s) => {
      peak = Math.max(peak, Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024);
    }, () => undefined);
  }, 200);
  return {
    url,
    pid: child.pid as number,
    async compares() {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Number(/^mcp_proxy_bcrypt_operations_total\{operation="compare"\} (\d+)/m.exec(text)?.[1] ?? NaN);
    },
    async memory() {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const mb = (name: string): number => Math.round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1e6);
      return { heapTotal: mb('nodejs_heap_size_total_bytes'), heapUsed: mb('nodejs_heap_size_used_bytes'), external: mb('nodejs_external_memory_bytes') };
    },
    peakRssMb() {
      const p = Math.round(peak);
      peak = 0;
      return p;
    },
    async stop() {
      clearInterval(sampler);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Each of the K keys once (their first verification), then K keys round-robin for DURATION seconds. */
async function measureK(server: Server, k: number): Promise<Record<string, number>> {
  const warmStart = await server.compares();
  const warm = await load({ url: server.url, from: 0, count: k, amount: Math.max(k, 100) }).done;
  // At K = 20,000 the warm-up is ~20,000 bcrypt compares, a quarter of an hour on 2 CPUs: the
  // first keys' statuses and connection rows are long past their 5 s freshness when it ends, a
  // state no set of K *active* users is in. One more pass over every key (no bcrypt now) is
  // "each of them called in the last minute", the steady state the measurement is about.
  const settle = await load({ url: server.url, from: 0, count: k, amount: Math.max(k, 100) }).done;
  const measuredStart = await server.compares();
  server.peakRssMb();
  const run = await load({ url: server.url, from: 0, count: k, duration: DURATION }).done;
  const compares = (await server.compares()) - measuredStart;
  const memory = await server.memory();
  return {
    k,
    'req/s': run.requests_per_sec,
    'p50 ms': run.p50_ms,
    'p99 ms': run.p99_ms,
    errors: run.errors + run.non_2xx + warm.errors + warm.non_2xx + settle.errors + settle.non_2xx,
    'peak RSS MB': server.peakRssMb(),
    'heap MB': memory.heapTotal,
    'heap used MB': memory.heapUsed,
    'external MB': memory.external,
    'warm-up s': Math.round(warm.seconds),
    'settle s': Math.round(settle.seconds * 10) / 10,
    'warm-up compares': measuredStart - warmStart,
    'compares while measured': compares,
  };
}

async function main(): Promise<void> {
  say('building the server (npm run build)…');
  if (spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) throw new Error('build failed');
  await mkdir(DATA, { recursive: true });
  const kMax = Math.max(...KS);
  const minted = await mintKeys(KEYS_FILE, Math.max(kMax, BURST + 1), say);
  const keyFile = path.join(DATA, 'encryption-key');
  const encryptionKey = await readFile(keyFile, 'utf8').catch(async () => {
    const fresh = randomBytes(32).toString('base64');
    await writeFile(keyFile, fresh, { mode: 0o600 });
    return fresh;
  });
  const cipher = createCipher(Buffer.from(encryptionKey.trim(), 'base64'));

  const upstream = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/scale/upstream.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(upstream);
  const upstreamUrl = await new Promise<string>((resolve) => upstream.stdout?.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { url: string }).url)));
  const providersFile = path.join(DATA, 'providers.json');
  await writeFile(providersFile, JSON.stringify({
    providers: [{ id: SCALE_PROVIDER, name: 'Scale', auth: 'api_key', api_base_url: upstreamUrl, api_key: { header: 'Authorization', template: 'Bearer {key}' }, tools: [{ name: 'whoami', description: 'Who am I upstream', method: 'GET', path: '/me' }] }],
  }));

  // The hot user alone on an empty database: what N = 100,000 at rest is compared with.
  say('K = 1 on an empty database…');
  const emptyDir = await mkdtemp(path.join(os.tmpdir(), 'mcp-proxy-scale-empty-'));
  let empty;
  try {
    const server = await startServer(emptyDir, providersFile, encryptionKey);
    await seed((await runningEmbeddedUrl(emptyDir)) as string, cipher, 1, minted.slice(0, 1), say);
    empty = await measureK(server, 1);
    await server.stop();
  } finally {
    await rm(emptyDir, { recursive: true, force: true });
  }

  const server = await startServer(path.join(DATA, 'server'), providersFile, encryptionKey);
  await seed((await runningEmbeddedUrl(path.join(DATA, 'server'))) as string, cipher, N, minted, say);

  // A cold process: 1,000 keys' first calls at once, while a key verified before keeps calling.
  say(`cold burst: ${BURST} keys' first calls next to a hot key…`);
  await load({ url: server.url, from: 0, count: 1, amount: 200, connections: 4 }).done;
  const burstStart = await server.compares();
  const hot = load({ url: server.url, from: 0, count: 1, duration: 3600, connections: 4 });
  const burst = await load({ url: server.url, from: 1, count: BURST, amount: BURST }).done;
  hot.stop();
  const hotDuring = await hot.done;
  const burstCompares = (await server.compares()) - burstStart;
  const cold = {
    keys: BURST,
    seconds: Math.round(burst.seconds * 10) / 10,
    compares: burstCompares,
    compares_per_key: Math.round((burstCompares / BURST) * 100) / 100,
    bcrypt_per_sec: Math.round(burstCompares / burst.seconds),
    burst_errors: burst.errors + burst.non_2xx,
    hot_p50_ms: hotDuring.p50_ms,
    hot_p99_ms: hotDuring.p99_ms,
    hot_errors: hotDuring.errors + hotDuring.non_2xx,
  };

  const rows: Array<Record<string, number>> = [];
  for (const k of KS) {
    say(`K = ${k} at N = ${N}…`);
    rows.push(await measureK(server, k));
  }
  await server.stop();

  say('');
  console.table([{ ...empty, k: 'empty DB, K = 1' } as never, ...rows]);
  say(`cold burst of ${cold.keys} first calls: ${cold.seconds} s, ${cold.compares} bcrypt compares (${cold.compares_per_key} per key, ${cold.bcrypt_per_sec}/s); hot key meanwhile p50 ${cold.hot_p50_ms} ms, p99 ${cold.hot_p99_ms} ms, ${cold.hot_errors} errors`);
  const byK = (k: number) => rows.find((r) => r.k === k);
  const first = byK(1);
  const last = rows.at(-1);
  const goals = [
    first && last && { goal: `K = ${last.k} ≥ 60 % of K = 1`, measured: `${Math.round(((last['req/s'] ?? 0) / (first['req/s'] ?? 1)) * 100)} %`, met: (last['req/s'] ?? 0) >= 0.6 * (first['req/s'] ?? 0) },
    first && { goal: `hot user at N = ${N} ≥ 90 % of an empty database`, measured: `${Math.round(((first['req/s'] ?? 0) / (empty['req/s'] ?? 1)) * 100)} %`, met: (first['req/s'] ?? 0) >= 0.9 * (empty['req/s'] ?? 0) },
    { goal: 'zero errors', measured: String(rows.reduce((n, r) => n + (r.errors ?? 0), 0) + cold.burst_errors + cold.hot_errors), met: rows.every((r) => r.errors === 0) && cold.burst_errors + cold.hot_errors === 0 },
    { goal: 'peak RSS < 300 MB at every K', measured: `${Math.max(...rows.map((r) => r['peak RSS MB'] ?? 0))} MB`, met: rows.every((r) => (r['peak RSS MB'] ?? 0) < 300) },
    { goal: 'cold burst: about one bcrypt compare per key', measured: String(cold.compares_per_key), met: cold.compares_per_key >= 0.95 && cold.compares_per_key <= 1.05 && cold.burst_errors === 0 },
    { goal: 'hot key p99 during the burst < 50 ms', measured: `${cold.hot_p99_ms} ms`, met: cold.hot_p99_ms < 50 },
  ].filter((g): g is { goal: string; measured: string; met: boolean } => Boolean(g));
  for (const g of goals) say(`${g.met ? 'met    ' : 'NOT MET'}  ${g.goal}: ${g.measured}`);
  const results = {
    at: new Date().toISOString(),
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
    machine: { cpus: os.cpus().length, node: process.version, load_average: os.loadavg().map((l) => Math.round(l * 10) / 10) },
    n: N, connections: CONNECTIONS, duration_s: DURATION, empty, ks: rows, cold_burst: cold, goals,
  };
  await writeFile(path.join(ROOT, 'bench/results/scale-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  say('written to bench/results/scale-latest.json');
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench:scale failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  });
