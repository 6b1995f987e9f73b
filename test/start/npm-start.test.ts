import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { upstreamProvider } from '../support/app.js';
import { authorizeInBrowser } from '../support/browser.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Runs `npm start` (build + node dist/main.js) with no DATABASE_URL and no ENCRYPTION_KEY. */
async function npmStart(env: Record<string, string>, output: string[]): Promise<ChildProcess> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['DATABASE_URL', 'ENCRYPTION_KEY', 'PUBLIC_URL', 'NODE_ENV', 'PROVIDERS_FILE'].includes(k)));
  const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  return child;
}

async function waitForHealthy(url: string, child: ChildProcess, output: string[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output.join('')}`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not healthy within ${timeoutMs} ms:\n${output.join('')}`);
}

/** Signals the whole process group (npm → node → postgres), as Ctrl+C in a terminal does, and waits for it to exit. */
async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-(child.pid as number), signal);
  await exited;
}

describe('npm start with nothing configured', () => {
  let dataDir: string;
  let upstream: TestUpstream;
  let port: number;
  let url: string;
  let providersFile: string;

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mcp-proxy-start-'));
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    upstream = await startUpstream({ redirectUris: [`http://localhost:${port}/api/connect/acme/callback`] });
    providersFile = path.join(dataDir, 'providers.json');
    // `plain` cannot name the account that logs in (no openid scope, no account_id_field).
    const plain = upstreamProvider(upstream, { id: 'plain', name: 'Plain', scopes: ['read'], tools: [] });
    await writeFile(providersFile, JSON.stringify({ providers: [upstreamProvider(upstream), plain] }));
  });
  after(async () => {
    await upstream.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves on embedded PostgreSQL with a generated dev key, and keeps users across restarts', { timeout: 180_000 }, async () => {
    const env = { PORT: String(port), DATA_DIR: dataDir, PROVIDERS_FILE: providersFile, LOG_LEVEL: 'info' };
    const output: string[] = [];
    let child = await npmStart(env, output);
    let apiKey: string;
    try {
      const readyIn = await waitForHealthy(url, child, output, 90_000);
      assert.ok(readyIn < 90_000);
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      const logs = output.join('');
      assert.match(logs, /ENCRYPTION_KEY is not set: using a DEVELOPMENT key/);
      assert.match(logs, /embedded PostgreSQL is up/);
      assert.match(logs, /provider \\"plain\\" is not offered for signing in.*account_id_field/);
      assert.doesNotMatch(logs, /provider \\"acme\\" is not offered/);
      // The web page and its static files come from dist/ too (the build copies src/web/static).
      const home = await fetch(`${url}/`);
      assert.equal(home.status, 200);
      const css = /href="(\/static\/web\.css\?v=[^"]+)"/.exec(await home.text())?.[1];
      assert.ok(css, 'the page links its stylesheet');
      const sheet = await fetch(`${url}${css}`);
      assert.equal(sheet.status, 200);
      assert.equal(sheet.headers.get('content-type'), 'text/css; charset=utf-8');

      const reg = await fetch(`${url}/api/users/register`, { method: 'POST' });
      assert.equal(reg.status, 201);
      apiKey = ((await reg.json()) as { api_key: string }).api_key;
      const start = await fetch(`${url}/api/connect/acme/start`, { headers: { authorization: `Bearer ${apiKey}` } });
      const { authorization_url } = (await start.json()) as { authorization_url: string };
      const done = await authorizeInBrowser(authorization_url, 'embedded-user', apiKey);
      assert.equal(done.status, 200, done.body);
    } finally {
      // Ctrl+C: the database must outlive the graceful shutdown's last writes (the key's usage counts).
      await stop(child, 'SIGINT');
    }
    // The whole graceful shutdown ran (the embedded database's exit hooks did not end the process
    // first), and its last writes found the database still up.
    assert.match(output.join(''), /"msg":"stopped"/);
    assert.doesNotMatch(output.join(''), /usage sync failed/);

    // Second start on the same data dir: same database, same dev key, same user and connection.
    const again: string[] = [];
    child = await npmStart(env, again);
    try {
      await waitForHealthy(url, child, again, 60_000);
      const status = await fetch(`${url}/api/connect/acme/status`, { headers: { authorization: `Bearer ${apiKey}` } });
      assert.equal(status.status, 200);
      const body = (await status.json()) as { connected: boolean; account_id: string };
      assert.equal(body.connected, true);
      assert.equal(body.account_id, 'embedded-user');
      assert.doesNotMatch(again.join(''), /initialising embedded PostgreSQL/);
    } finally {
      await stop(child);
    }
  });

  it('refuses to start in production without ENCRYPTION_KEY, naming it', { timeout: 60_000 }, async () => {
    const output: string[] = [];
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', ENCRYPTION_KEY: '', DATABASE_URL: 'postgres://127.0.0.1:1/none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(output.join(''), /ENCRYPTION_KEY: required when NODE_ENV=production/);
  });

  it('refuses to start when the providers file references an unset variable, naming it', { timeout: 60_000 }, async () => {
    const file = path.join(dataDir, 'bad-providers.json');
    await writeFile(file, JSON.stringify({ providers: [upstreamProvider(upstream, { client_secret: '${MISSING_SECRET_FOR_TEST}' })] }));
    const output: string[] = [];
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PROVIDERS_FILE: file, DATABASE_URL: 'postgres://127.0.0.1:1/none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(output.join(''), /MISSING_SECRET_FOR_TEST is referenced but not set/);
  });
});
