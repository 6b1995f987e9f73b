import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { demoLoginInBrowser } from '../support/demo-browser.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Everything that would configure the server: a newcomer has none of it set. */
const CONFIGURING = /^(DATABASE_URL|ENCRYPTION_KEY|PUBLIC_URL|NODE_ENV|PROVIDERS_FILE|DEMO|OWNERREZ_.*|HOST|LOG_LEVEL)$/;

interface Server {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * `src/main.ts` as `npm start` runs it, with a fresh data dir and nothing else set but the port
 * and (so the test needs no embedded PostgreSQL of its own: npm-start.test.ts covers that) a
 * fresh database.
 */
async function startServer(databaseUrl: string, dataDir: string, extra: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CONFIGURING.test(k)));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), DATA_DIR: dataDir, DATABASE_URL: databaseUrl, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://localhost:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output}`);
    if (/listening on/.test(output)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server did not start within 15 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function registerUser(url: string, name: string): Promise<string> {
  const res = await fetch(`${url}/api/users/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  assert.equal(res.status, 201);
  return ((await res.json()) as { api_key: string }).api_key;
}

describe('a newcomer’s first run: the demo upstream is on with nothing configured', () => {
  let db: TestDatabase;
  let dataDir: string;
  before(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'mcp-proxy-demo-'));
  });
  after(async () => {
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('start, register two users, connect two demo accounts on the login page, call tools as each, disconnect', { timeout: 60_000 }, async () => {
    const server = await startServer(db.url, dataDir);
    try {
      assert.match(server.output(), /built-in demo upstream is on/);
      const users = [];
      for (const [name, login] of [['First', 'alice'], ['Second', 'bob']] as const) {
        const apiKey = await registerUser(server.url, name);
        const start = await fetch(`${server.url}/api/connect/demo/start`, { headers: { authorization: `Bearer ${apiKey}` } });
        const { authorization_url } = (await start.json()) as { authorization_url: string };
        const done = await demoLoginInBrowser(authorization_url, apiKey, login);
        assert.equal(done.status, 200, done.body);
        users.push({ apiKey, login, mcp: await connectMcp(server.url, apiKey) });
      }
      for (const user of users) {
        const { tools } = await user.mcp.listTools();
        assert.ok(tools.some((t) => t.name === 'demo_add_note'));
        const added = await user.mcp.callTool({ name: 'demo_add_note', arguments: { text: `a note of ${user.login}` } });
        assert.equal(added.isError, undefined, textOf(added));
      }
      for (const user of users) {
        const listed = JSON.parse(textOf(await user.mcp.callTool({ name: 'demo_list_notes', arguments: {} }))) as { notes: Array<{ text: string }> };
        assert.deepEqual(listed.notes.map((n) => n.text), [`a note of ${user.login}`]);
      }
      const first = users[0] as (typeof users)[number];
      const gone = await fetch(`${server.url}/api/connect/demo`, { method: 'DELETE', headers: { authorization: `Bearer ${first.apiKey}` } });
      assert.equal(gone.status, 200);
      const after = await first.mcp.callTool({ name: 'demo_list_notes', arguments: {} });
      assert.equal(after.isError, true, 'disconnected: the tool says how to connect');
      await Promise.all(users.map((u) => u.mcp.close()));
    } finally {
      await server.stop();
    }
  });

  for (const [label, extra, said] of [
    ['DEMO=false', { DEMO: 'false' }, /demo upstream off \(DEMO=false\)/],
    ['NODE_ENV=production', { NODE_ENV: 'production', ENCRYPTION_KEY: randomBytes(32).toString('base64') }, /demo upstream off in NODE_ENV=production/],
    ['a real provider configured', { OWNERREZ_CLIENT_ID: 'c_test', OWNERREZ_CLIENT_SECRET: 's_test' }, /demo upstream off: 1 provider\(s\) configured/],
  ] as const) {
    it(`is off, and says so, with ${label}`, { timeout: 30_000 }, async () => {
      const server = await startServer(db.url, dataDir, extra);
      try {
        assert.match(server.output(), said);
        assert.equal((await fetch(`${server.url}/demo/authorize`)).status, 404);
        const apiKey = await registerUser(server.url, 'Checker');
        const status = await fetch(`${server.url}/api/connect/demo/status`, { headers: { authorization: `Bearer ${apiKey}` } });
        assert.equal(status.status, 404, 'no provider "demo"');
      } finally {
        await server.stop();
      }
    });
  }
});
