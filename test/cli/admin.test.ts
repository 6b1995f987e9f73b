import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STATUS_TTL_MS } from '../../src/keys/key-service.js';
import { admin } from '../support/admin-cli.js';
import { register, startApp, type TestApp } from '../support/app.js';
import { call, waitUntil } from '../support/api-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('operator CLI (npm run admin)', () => {
  let db: TestDatabase;
  let app: TestApp;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url });
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  const works = async (key: string): Promise<number> => (await call(app.url, 'GET', '/api/connect/none/status', { key })).status;

  it('help lists every command; an unknown command exits 2', async () => {
    const help = await admin(db.url, 'help');
    assert.equal(help.code, 0);
    for (const name of ['users', 'keys', 'create-key', 'revoke-key', 'disable-user', 'enable-user']) assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
    const unknown = await admin(db.url, 'frobnicate');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown command "frobnicate"/);
  });

  it('users and keys list what the API created, without secrets', async () => {
    const { userId, apiKey } = await register(app, 'listed-user');
    const users = await admin(db.url, 'users');
    assert.equal(users.code, 0, users.stderr);
    const line = users.stdout.split('\n').find((l) => l.startsWith(userId));
    assert.ok(line, users.stdout);
    assert.match(line, /listed-user\s+\S+\s+active\s+1$/);

    const keys = await admin(db.url, 'keys', '--user', userId);
    assert.equal(keys.code, 0, keys.stderr);
    const rows = keys.stdout.trim().split('\n');
    assert.equal(rows.length, 2, keys.stdout);
    assert.match(rows[1] ?? '', new RegExp(`${apiKey.slice(0, 15)}\\s+${userId}\\s+default\\s+active\\s+tools:read,tools:write,connections,keys\\s+default/min default/h`));
    assert.ok(!keys.stdout.includes(apiKey), 'never the secret');
  });

  it('create-key makes a key for a shared connector with scopes, limits and expiry, and it works', async () => {
    const { userId } = await register(app, 'connector-owner');
    const res = await admin(db.url, 'create-key', '--user', userId, '--name', 'shared connector', '--scopes', 'tools:read,connections', '--per-minute', '2', '--per-hour', '500', '--expires-in', '30d');
    assert.equal(res.code, 0, res.stderr);
    const key = /^api_key: (sk_\S+)$/m.exec(res.stdout)?.[1];
    assert.ok(key, res.stdout);
    assert.match(res.stdout, /^scopes: tools:read,connections$/m);
    assert.match(res.stdout, /^rate_limit: 2\/min, 500\/h$/m);
    const expires = Date.parse(/^expires_at: (\S+)$/m.exec(res.stdout)?.[1] ?? '');
    assert.ok(Math.abs(expires - Date.now() - 30 * 86_400_000) < 60_000);

    const first = await call(app.url, 'GET', '/api/connect/none/status', { key });
    assert.equal(first.status, 404, 'authenticated (no such provider here)');
    assert.equal(first.headers.get('ratelimit-policy'), '2;w=60, 500;w=3600');
    assert.equal((await call(app.url, 'GET', '/api/keys', { key })).status, 403, 'no keys scope');

    const { rows } = await app.pool.query(`SELECT type, key_prefix, ip, detail->>'via' AS via FROM audit_events WHERE user_id = $1 AND detail->>'name' = 'shared connector'`, [userId]);
    assert.deepEqual(rows, [{ type: 'key.created', key_prefix: null, ip: null, via: 'admin-cli' }]);
  });

  it('create-key refuses bad input with exit code 2 and an unknown user with 1', async () => {
    const { userId } = await register(app);
    for (const args of [['--user', 'nope'], ['--user', userId, '--scopes', 'root'], ['--user', userId, '--per-minute', '0'], ['--user', userId, '--expires-in', 'soon'], ['--user', userId, '--bogus', 'x']]) {
      const res = await admin(db.url, 'create-key', ...args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, /Usage: admin create-key/);
    }
    const missing = await admin(db.url, 'create-key', '--user', '00000000-0000-4000-8000-000000000000');
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /No user/);
  });

  it('revoke-key by prefix: a running server refuses the key within the bound', async () => {
    const { apiKey } = await register(app);
    assert.equal(await works(apiKey), 404); // warm in the server
    const res = await admin(db.url, 'revoke-key', apiKey.slice(0, 15));
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Revoked sk_/);
    await waitUntil(async () => (await works(apiKey)) === 401, STATUS_TTL_MS + 2_000, 50);
    const again = await admin(db.url, 'revoke-key', apiKey.slice(0, 15));
    assert.equal(again.code, 1);
  });

  it('disable-user stops every key of the user on a running server; enable-user brings them back', async () => {
    const { userId, apiKey } = await register(app);
    const second = (await call<{ api_key: string }>(app.url, 'POST', '/api/keys', { key: apiKey, body: {} })).body.api_key;
    assert.equal(await works(apiKey), 404);
    assert.equal(await works(second), 404);
    const res = await admin(db.url, 'disable-user', userId);
    assert.equal(res.code, 0, res.stderr);
    await waitUntil(async () => (await works(apiKey)) === 401 && (await works(second)) === 401, STATUS_TTL_MS + 2_000, 50);
    assert.match((await admin(db.url, 'users')).stdout, new RegExp(`${userId}.*disabled`));

    assert.equal((await admin(db.url, 'enable-user', userId)).code, 0);
    assert.equal(await works(apiKey), 404);
    const { rows } = await app.pool.query(`SELECT type FROM audit_events WHERE user_id = $1 AND type LIKE 'user.%' ORDER BY id`, [userId]);
    assert.deepEqual(rows.map((r) => r.type), ['user.disabled', 'user.enabled']);
    assert.equal((await admin(db.url, 'disable-user', '00000000-0000-4000-8000-000000000000')).code, 1);
  });
});
