import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { call, waitUntil } from '../support/api-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** main.ts as deployed with DATABASE_URL: SIGTERM must let it finish and send the counts it still holds. */
describe('graceful shutdown of the server (main.ts)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  it('SIGTERM exits 0 after flushing the request counts and last_used_at not yet synced', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const output: string[] = [];
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', ENCRYPTION_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'warn', PROVIDERS_FILE: '', DEMO: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitUntil(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200, 30_000);
      const reg = await call<{ api_key: string }>(url, 'POST', '/api/users/register', { body: {} });
      for (let i = 0; i < 7; i++) assert.equal((await call(url, 'GET', '/api/keys', { key: reg.body.api_key })).status, 200);
      // No provider is configured here (and the demo upstream is off): the operator is told why MCP clients would see no tools.
      assert.match(output.join(''), /no providers configured, so MCP clients will see no tools/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output.join(''));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ window_seconds: number; count: string }>('SELECT window_seconds, count FROM key_rate_windows ORDER BY window_seconds');
      assert.deepEqual(rows.map((r) => [r.window_seconds, Number(r.count)]), [[60, 7], [3600, 7]]);
      const keys = await client.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM api_keys');
      assert.ok(keys.rows[0]?.last_used_at, 'last_used_at was written');
    } finally {
      await client.end();
    }
  });
});
