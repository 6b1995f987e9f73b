/**
 * `npm run bench`: this server's /mcp tools/call against a hand-written SDK baseline and the
 * upstream itself, each in its own process, driven by autocannon (its own process too) with the
 * same connections and duration. Prints a table and writes bench/results/latest.json.
 *
 * No set-up beyond `npm install`: the server runs the production build (`dist/`) on its embedded
 * PostgreSQL in a temporary data dir, exactly as `npm start` would.
 * env: BENCH_DURATION (seconds per target, default 15), BENCH_CONNECTIONS (default 16),
 * BENCH_PROFILE=1 (CPU profile of the server), BENCH_ONLY=server (skip the other targets),
 * BENCH_LOG_LEVEL (server log level, default info), BENCH_SERVER_NODE_FLAGS (extra node flags for
 * the server only, e.g. "--max-old-space-size=96" to see how much of its RSS is V8 heap slack).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { upstreamProvider, type UpstreamEndpoints } from '../test/support/app.js';
import { authorizeInBrowser, authorizeUntilRedirect } from '../test/support/browser.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const children: ChildProcess[] = [];


interface Measured {
  name: string;
  requests_per_sec: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  errors: number;
  non_2xx: number;
  total: number;
  /** CPU ms per request of each measured process (see autocannon()). */
  cpu_ms_per_call?: Record<string, number>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts a child and resolves with its first stdout line that satisfies `ready`. */
function startChild(command: string, args: string[], env: NodeJS.ProcessEnv, ready: (line: string) => boolean): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let buffered = '';
    let stderr = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n').slice(0, -1)) {
        if (ready(line)) {
          child.stdout?.off('data', onData);
          child.stdout?.resume();
          resolve({ child, line });
          return;
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited with ${code}\n${stderr}`)));
  });
}

async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not yet listening
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not healthy within ${timeoutMs} ms`);
}

/** A static upstream token for the baseline, obtained through the real authorization-code flow. */
async function staticToken(upstream: UpstreamEndpoints, redirectUri: string): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(upstream.authorizationUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: upstream.clientId,
    redirect_uri: redirectUri,
    scope: 'openid read',
    state: 'bench',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const callback = await authorizeUntilRedirect(url.toString(), 'bench-user');
  const res = await fetch(upstream.tokenUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${upstream.clientId}:${upstream.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code') ?? '', redirect_uri: redirectUri, code_verifier: verifier }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Headers of an initialised session at the remote MCP server, for calling it directly as a client would. */
async function directMcpSession(url: string, key: string): Promise<Record<string, string>> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${key}` };
  const init = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }) });
  const session = init.headers.get('mcp-session-id');
  await init.text();
  if (!session) throw new Error('the remote MCP server opened no session');
  const withSession = { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
  await (await fetch(url, { method: 'POST', headers: withSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  return { authorization: withSession.authorization, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
}

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * autocannon in its own process, JSON out. With `cpuOf`, also the CPU each named process spent per
 * request: on a shared 2-core machine that is the fair comparison (throughput depends on who else
 * runs; CPU per call does not, much).
 */
function autocannon(name: string, url: string, options: { method?: string; headers?: Record<string, string>; body?: string }, cpuOf: Record<string, number> = {}): Measured {
  const cpuBefore = Object.fromEntries(Object.entries(cpuOf).map(([who, pid]) => [who, cpuMs(pid)]));
  const args = [path.join(ROOT, 'node_modules/autocannon/autocannon.js'), '-c', String(CONNECTIONS), '-d', String(DURATION), '-j'];
  if (options.method) args.push('-m', options.method);
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (options.body) args.push('-b', options.body);
  args.push(url);
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`autocannon failed for ${name}: ${run.stderr}`);
  const r = JSON.parse(run.stdout) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    errors: number;
    timeouts: number;
    non2xx: number;
  };
  const cpu_ms_per_call = Object.fromEntries(Object.entries(cpuOf).map(([who, pid]) => [who, Math.round(((cpuMs(pid) - (cpuBefore[who] ?? 0)) / Math.max(1, r.requests.total)) * 1000) / 1000]));
  return {
    name,
    ...(Object.keys(cpu_ms_per_call).length > 0 ? { cpu_ms_per_call } : {}),
    requests_per_sec: Math.round(r.requests.average),
    latency_p50_ms: r.latency.p50,
    latency_p99_ms: r.latency.p99,
    errors: r.errors + r.timeouts,
    non_2xx: r.non2xx,
    total: r.requests.total,
  };
}

async function currentRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 102.4) / 10;
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

/** The performance targets: ≥ 3× the baseline, no failures, p99 under the baseline's p50, peak RSS under 200 MB. */
function goalsMet(baseline: Measured, ours: Measured, peakRssMb: number): Array<{ goal: string; measured: string; met: boolean }> {
  const ratio = Math.round((ours.requests_per_sec / baseline.requests_per_sec) * 100) / 100;
  return [
    { goal: 'requests/s ≥ 3× the baseline', measured: `${ratio}×`, met: ratio >= 3 },
    { goal: 'no errors, no non-2xx', measured: `${ours.errors} errors, ${ours.non_2xx} non-2xx`, met: ours.errors === 0 && ours.non_2xx === 0 },
    { goal: "p99 below the baseline's p50", measured: `${ours.latency_p99_ms} ms vs ${baseline.latency_p50_ms} ms`, met: ours.latency_p99_ms < baseline.latency_p50_ms },
    { goal: 'peak RSS under load < 200 MB', measured: `${peakRssMb} MB`, met: peakRssMb < 200 },
  ];
}

async function main(): Promise<void> {
  process.stdout.write('building the server (npm run build)…\n');
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mcp-proxy-bench-'));
  try {
    const [serverPort, baselinePort] = [await freePort(), await freePort()];
    const serverUrl = `http://127.0.0.1:${serverPort}`;
    const benchRedirect = 'http://127.0.0.1:9/bench-callback';

    const { line } = await startChild(process.execPath, ['--import', 'tsx', 'bench/upstream-process.ts', JSON.stringify([`${serverUrl}/api/connect/acme/callback`, benchRedirect])], {}, (l) => l.startsWith('{'));
    const upstream = JSON.parse(line) as UpstreamEndpoints;

    // Issue 12: a remote MCP server as upstream, behind a static key (the same one both ways).
    const mcpKey = randomBytes(24).toString('base64url');
    const { child: mcpChild, line: mcpLine } = await startChild(process.execPath, ['--import', 'tsx', 'bench/mcp-upstream-process.ts'], { MCP_UPSTREAM_KEY: mcpKey }, (l) => l.startsWith('{'));
    const mcpUpstreamUrl = (JSON.parse(mcpLine) as { url: string }).url;

    const providersFile = path.join(dataDir, 'providers.json');
    await writeFile(
      providersFile,
      JSON.stringify({
        providers: [
          upstreamProvider(upstream, { tools: [{ name: 'whoami', description: 'Who am I upstream', method: 'GET', path: '/me' }] }),
          { id: 'remote', name: 'Remote', auth: 'api_key', mcp_url: mcpUpstreamUrl, api_key: { header: 'Authorization', template: 'Bearer {key}' } },
        ],
      }),
    );
    process.stdout.write('starting the server on embedded PostgreSQL…\n');
    // BENCH_PROFILE=1 writes a CPU profile of the server to bench/results/ (open it in Chrome DevTools).
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.join(ROOT, 'bench/results')] : [];
    const nodeFlags = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const server = spawn(process.execPath, [...profile, ...nodeFlags, 'dist/main.js'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(serverPort), HOST: '127.0.0.1', PUBLIC_URL: serverUrl, DATA_DIR: dataDir, PROVIDERS_FILE: providersFile, ENCRYPTION_KEY: randomBytes(32).toString('base64'), DATABASE_URL: '', NODE_ENV: 'production', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
        // The load is one key hammering on purpose: lift its rate limit above what the run can reach.
        KEY_RATE_LIMIT_PER_MINUTE: '10000000', KEY_RATE_LIMIT_PER_HOUR: '100000000' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(server);
    await waitHealthy(serverUrl, 90_000);

    const reg = (await (await fetch(`${serverUrl}/api/users/register`, { method: 'POST' })).json()) as { api_key: string };
    const start = (await (await fetch(`${serverUrl}/api/connect/acme/start`, { headers: { authorization: `Bearer ${reg.api_key}` } })).json()) as { authorization_url: string };
    const connected = await authorizeInBrowser(start.authorization_url, 'bench-user', reg.api_key);
    if (connected.status !== 200) throw new Error(`connect failed: ${connected.body}`);

    const putKey = await fetch(`${serverUrl}/api/connect/remote/key`, { method: 'PUT', headers: { authorization: `Bearer ${reg.api_key}`, 'content-type': 'application/json' }, body: JSON.stringify({ api_key: mcpKey }) });
    if (putKey.status !== 200) throw new Error(`setting the remote MCP key failed: ${await putKey.text()}`);
    const directSession = await directMcpSession(mcpUpstreamUrl, mcpKey);

    const token = await staticToken(upstream, benchRedirect);
    await startChild(process.execPath, ['--import', 'tsx', 'bench/baseline-server.ts'], { PORT: String(baselinePort), UPSTREAM_API: upstream.apiBaseUrl, UPSTREAM_TOKEN: token }, (l) => l === 'ready');

    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
    const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    // Warm-up: JIT, connection pools and caches, as in steady state.
    for (const [url, headers] of [
      [`http://127.0.0.1:${baselinePort}/mcp`, mcpHeaders],
      [`${serverUrl}/mcp`, { ...mcpHeaders, authorization: `Bearer ${reg.api_key}` }],
    ] as const) {
      for (let i = 0; i < 50; i++) await (await fetch(url, { method: 'POST', headers, body: call })).text();
    }
    const remoteWarm = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'remote_whoami', arguments: {} } });
    for (let i = 0; i < 50; i++) await (await fetch(`${serverUrl}/mcp`, { method: 'POST', headers: { ...mcpHeaders, authorization: `Bearer ${reg.api_key}` }, body: remoteWarm })).text();

    const idleRss = await currentRssMb(server.pid as number);
    process.stdout.write(`server RSS before load: ${idleRss} MB\n`);
    process.stdout.write(`measuring: ${CONNECTIONS} connections, ${DURATION} s per target…\n`);
    // BENCH_ONLY=server measures only this server (for profiling it with BENCH_PROFILE=1).
    const only = process.env.BENCH_ONLY === 'server';
    const skipped = (name: string): Measured => ({ name, requests_per_sec: 0, latency_p50_ms: 0, latency_p99_ms: 0, errors: 0, non_2xx: 0, total: 0 });
    const remoteCall = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
    const proxiedCall = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'remote_whoami', arguments: {} } });
    const mcpDirect = only ? skipped('remote MCP (skipped)') : autocannon('remote MCP server tools/call (direct)', mcpUpstreamUrl, { method: 'POST', headers: { ...mcpHeaders, ...directSession }, body: remoteCall }, { upstream: mcpChild.pid as number });
    const mcpProxied = autocannon('mcp-oauth-proxy → remote MCP tools/call', `${serverUrl}/mcp`, { method: 'POST', headers: { ...mcpHeaders, authorization: `Bearer ${reg.api_key}` }, body: proxiedCall }, { server: server.pid as number, upstream: mcpChild.pid as number });
    const direct = only ? skipped('upstream (skipped)') : autocannon('upstream GET /api/me (direct)', `${upstream.apiBaseUrl}/me`, { headers: { authorization: `Bearer ${token}` } });
    const baseline = only ? skipped('baseline (skipped)') : autocannon('baseline SDK server tools/call', `http://127.0.0.1:${baselinePort}/mcp`, { method: 'POST', headers: mcpHeaders, body: call });
    const ours = autocannon('mcp-oauth-proxy tools/call', `${serverUrl}/mcp`, { method: 'POST', headers: { ...mcpHeaders, authorization: `Bearer ${reg.api_key}` }, body: call }, { server: server.pid as number });
    const rss = await peakRssMb(server.pid as number);

    const results = {
      at: new Date().toISOString(),
      commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
      machine: { cpus: os.cpus().length, node: process.version },
      connections: CONNECTIONS,
      duration_s: DURATION,
      targets: [direct, baseline, ours, mcpDirect, mcpProxied],
      // Issue 12's target: through this server ≥ 80 % of the remote MCP server's own throughput.
      ratio_remote_mcp_proxied_over_direct: Math.round((mcpProxied.requests_per_sec / mcpDirect.requests_per_sec) * 100) / 100,
      remote_mcp_added_p50_ms: Math.round((mcpProxied.latency_p50_ms - mcpDirect.latency_p50_ms) * 100) / 100,
      ratio_server_over_baseline: Math.round((ours.requests_per_sec / baseline.requests_per_sec) * 100) / 100,
      ratio_server_over_direct: Math.round((ours.requests_per_sec / direct.requests_per_sec) * 100) / 100,
      server_rss_before_load_mb: idleRss,
      server_peak_rss_mb: rss,
      // Issue #6's targets, judged on this run (BENCH_ONLY=server skips the comparisons).
      goals: only ? undefined : goalsMet(baseline, ours, rss),
    };
    process.stdout.write('\n');
    console.table(results.targets.map((t) => ({ target: t.name, 'req/s': t.requests_per_sec, 'p50 ms': t.latency_p50_ms, 'p99 ms': t.latency_p99_ms, errors: t.errors, 'non-2xx': t.non_2xx })));
    process.stdout.write(
      `server/baseline: ${results.ratio_server_over_baseline}×   server/direct: ${results.ratio_server_over_direct}×   server peak RSS: ${rss} MB\n`,
    );
    process.stdout.write(`remote MCP through this server / direct: ${results.ratio_remote_mcp_proxied_over_direct}×   added p50: ${results.remote_mcp_added_p50_ms} ms\n`);
    process.stdout.write(`tools/call CPU ms per call: ${JSON.stringify(ours.cpu_ms_per_call ?? {})} (steadier than req/s on a shared machine)\n`);
    process.stdout.write(`remote MCP CPU ms per call: direct ${JSON.stringify(mcpDirect.cpu_ms_per_call ?? {})}, through this server ${JSON.stringify(mcpProxied.cpu_ms_per_call ?? {})}\n`);
    if (results.goals) {
      for (const g of results.goals) process.stdout.write(`${g.met ? 'met    ' : 'NOT MET'}  ${g.goal}: ${g.measured}\n`);
    }
    await writeFile(path.join(ROOT, 'bench/results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write('written to bench/results/latest.json\n');
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  for (const child of children) child.kill('SIGKILL');
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
