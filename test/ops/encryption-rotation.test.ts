import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SECRET_TABLES } from '../../src/cli/admin/stored-secrets.js';
import { connectionAad } from '../../src/connections/connect-flow.js';
import { createCipher, keyIdOf, keyIdOfCiphertext } from '../../src/crypto/cipher.js';
import { registrationAad } from '../../src/upstreams/mcp/client-registration.js';
import { bearer, registerAndConnect, startAppWithUpstream, upstreamProvider } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { spawnApp, type AppProcess } from '../support/spawn-app.js';
import { eventually } from '../support/time.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN = fileURLToPath(new URL('../../src/cli/admin.ts', import.meta.url));
const OLD = randomBytes(32);
const NEW = randomBytes(32);
const b64 = (k: Buffer): string => k.toString('base64');
/** The operator's list after the flip: the new key encrypts, the old one still decrypts. Labels are free text. */
const ROTATED = `k2026:${b64(NEW)},k2025:${b64(OLD)}`;
const EXTRA_USERS = 40;

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

function startAdmin(databaseUrl: string, args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ADMIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, ENCRYPTION_KEYS: ROTATED, ENCRYPTION_KEY: '', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

describe('ENCRYPTION_KEYS rotation and npm run admin -- reencrypt', () => {
  let f: Fixture;
  let alice: { userId: string; apiKey: string };
  const processes: AppProcess[] = [];
  const clients: Client[] = [];
  const extraIds: string[] = [];

  /** Key ids of every stored ciphertext, per table and column. */
  const storedKeyIds = async (): Promise<string[]> => {
    const ids: string[] = [];
    for (const spec of SECRET_TABLES) {
      for (const column of spec.columns) {
        const { rows } = await f.app.pool.query<{ v: string }>(`SELECT ${column} AS v FROM ${spec.table} WHERE ${column} IS NOT NULL`);
        ids.push(...rows.map((r) => keyIdOfCiphertext(r.v) ?? '?'));
      }
    }
    return ids;
  };
  const call = async (on: AppProcess, tool = 'whoami') => {
    const client = await connectMcp(on.url, alice.apiKey);
    clients.push(client);
    return client.callTool({ name: tool, arguments: {} });
  };

  before(async () => {
    // Before the rotation: one key. Alice connects through the real flow; more rows are stored
    // as the server stores them (same cipher, same associated data) so batches have work to do.
    f = await startAppWithUpstream({ encryptionKey: OLD });
    alice = await registerAndConnect(f.app, 'alice');
    const before = createCipher(OLD);
    for (let i = 0; i < EXTRA_USERS; i++) {
      const { rows } = await f.app.pool.query<{ id: string }>("INSERT INTO users (name) VALUES ('extra') RETURNING id");
      const id = (rows[0] as { id: string }).id;
      extraIds.push(id);
      const aad = connectionAad(id, 'acme');
      await f.app.pool.query('INSERT INTO connections (user_id, provider_id, access_token_enc, refresh_token_enc) VALUES ($1, $2, $3, $4)', [id, 'acme', before.encrypt(`access-${i}`, aad), before.encrypt(`refresh-${i}`, aad)]);
    }
    await f.app.pool.query('INSERT INTO mcp_client_registrations (provider_id, issuer, client_id, client_secret_enc, token_auth) VALUES ($1, $2, $3, $4, $5)', [
      'remote', 'https://issuer.example', 'client-1', before.encrypt('registration-secret', registrationAad('remote', 'https://issuer.example')), 'client_secret_post',
    ]);
    // A connect flow in progress: its PKCE verifier is a stored secret too.
    assert.equal((await fetch(`${f.app.url}/api/connect/acme/start`, { headers: bearer(alice.apiKey) })).status, 200);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(processes.map((p) => p.stop()));
    await f.close();
  });

  it('lists every *_enc column of the schema', async () => {
    const { rows } = await f.app.pool.query<{ t: string; c: string }>(
      "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND column_name LIKE '%\\_enc'",
    );
    const listed = new Set(SECRET_TABLES.flatMap((s) => s.columns.map((c) => `${s.table}.${c}`)));
    for (const r of rows) assert.ok(listed.has(`${r.t}.${r.c}`), `${r.t}.${r.c} is not in SECRET_TABLES`);
  });

  it('two processes with different key lists read each other’s rows; a crashed reencrypt resumes; an old-only process fails loudly', { timeout: 60_000 }, async () => {
    const providers = [upstreamProvider(f.upstream)];
    // Step 1 of a rotation, on one instance: new key added but not yet writing. Step 2 on the other: new key first.
    const [a, b] = await Promise.all([
      spawnApp({ databaseUrl: f.db.url, encryptionKey: b64(OLD), previousKeys: [b64(NEW)], providers }),
      spawnApp({ databaseUrl: f.db.url, encryptionKey: b64(NEW), previousKeys: [b64(OLD)], providers }),
    ]);
    processes.push(a, b);
    assert.deepEqual(JSON.parse(textOf(await call(b))), { id: 'alice', login: 'alice' }, 'B reads a row written under the old key');

    // The upstream kills the token: B refreshes and writes the new tokens under the new key.
    f.upstream.revokeAccessTokensFor('alice');
    assert.deepEqual(JSON.parse(textOf(await call(b))), { id: 'alice', login: 'alice' });
    const { rows: [aliceRow] } = await f.app.pool.query<{ a: string; r: string }>('SELECT access_token_enc AS a, refresh_token_enc AS r FROM connections WHERE user_id = $1', [alice.userId]);
    assert.equal(keyIdOfCiphertext(aliceRow?.a ?? ''), keyIdOf(NEW));
    assert.equal(keyIdOfCiphertext(aliceRow?.r ?? ''), keyIdOf(NEW));
    assert.deepEqual(JSON.parse(textOf(await call(a))), { id: 'alice', login: 'alice' }, 'A (old key first) reads the row B wrote under the new key');

    // reencrypt, crashed in the middle: a row held by a transaction (as a refresh would) is skipped
    // and waited for; everything else moves in batches of 5; then the process is killed.
    const holder = await f.app.pool.connect();
    const held = extraIds[EXTRA_USERS - 1] as string;
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM connections WHERE user_id = $1 FOR UPDATE', [held]);
    const first = startAdmin(f.db.url, ['reencrypt', '--batch-size', '5', '--wait-seconds', '30']);
    const connectionsLeft = async (): Promise<number> => {
      const { rows } = await f.app.pool.query<{ a: string; r: string | null }>('SELECT access_token_enc AS a, refresh_token_enc AS r FROM connections');
      return rows.flatMap((r) => [r.a, r.r]).filter((v) => v !== null && keyIdOfCiphertext(v) !== keyIdOf(NEW)).length;
    };
    await eventually(async () => (await connectionsLeft()) === 2, 20_000, 100);
    first.child.kill('SIGKILL');
    const crashed = await first.done;
    assert.equal(crashed.code, null, `killed mid-run: ${crashed.stdout}${crashed.stderr}`);
    await holder.query('ROLLBACK');
    holder.release();
    const { rows: [heldRow] } = await f.app.pool.query<{ a: string }>('SELECT access_token_enc AS a FROM connections WHERE user_id = $1', [held]);
    assert.equal(keyIdOfCiphertext(heldRow?.a ?? ''), keyIdOf(OLD), 'the held row was left as it was');
    assert.deepEqual(JSON.parse(textOf(await call(a))), { id: 'alice', login: 'alice' }, 'serving on through the half-done state');

    const second = await startAdmin(f.db.url, ['reencrypt', '--batch-size', '5']).done;
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /connections: 1 rows moved/);
    assert.match(second.stdout, /every secret is under key/);
    assert.deepEqual(new Set(await storedKeyIds()), new Set([keyIdOf(NEW)]));
    // Every value still decrypts to what was stored, with the new key alone.
    const onlyNew = createCipher(NEW);
    const { rows: extras } = await f.app.pool.query<{ user_id: string; a: string }>('SELECT user_id, access_token_enc AS a FROM connections WHERE user_id = ANY($1)', [extraIds]);
    for (const row of extras) assert.match(onlyNew.decrypt(row.a, connectionAad(row.user_id, 'acme')), /^access-\d+$/);
    const { rows: [reg] } = await f.app.pool.query<{ s: string }>('SELECT client_secret_enc AS s FROM mcp_client_registrations');
    assert.equal(onlyNew.decrypt(reg?.s ?? '', registrationAad('remote', 'https://issuer.example')), 'registration-secret');

    // After the rotation the old key can go: a process with the new key alone serves; one with
    // only the old key is refused loudly (a tool error naming the unknown key id), never silently.
    const [c, d] = await Promise.all([
      spawnApp({ databaseUrl: f.db.url, encryptionKey: b64(NEW), providers }),
      spawnApp({ databaseUrl: f.db.url, encryptionKey: b64(OLD), providers }),
    ]);
    processes.push(c, d);
    assert.deepEqual(JSON.parse(textOf(await call(c))), { id: 'alice', login: 'alice' });
    const refused = await call(d);
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), new RegExp(`No encryption key with id ${keyIdOf(NEW)} is configured`));
  });

  it('a value under a key nobody has is reported by row, exits 1, and does not stop the rest', async () => {
    const stray = createCipher(randomBytes(32));
    const id = extraIds[0] as string;
    await f.app.pool.query('UPDATE connections SET access_token_enc = $2 WHERE user_id = $1', [id, stray.encrypt('lost', connectionAad(id, 'acme'))]);
    const run = await startAdmin(f.db.url, ['reencrypt']).done;
    assert.equal(run.code, 1);
    assert.match(run.stdout, new RegExp(`could not move: connections ${id} acme: No encryption key with id ${stray.keyId}`));
    assert.doesNotMatch(run.stdout, /lost/);
  });
});
