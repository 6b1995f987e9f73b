import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

function assertError(body: Record<string, unknown>, code: string): void {
  assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
  assert.equal(body.error, code);
  assert.equal(typeof body.error_description, 'string');
}

describe('registration, authentication and bad input', () => {
  let db: TestDatabase;
  let app: TestApp;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, providers: [] });
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('register returns 201 with a key shown once; only a bcrypt hash and prefix are stored', async () => {
    const res = await post('/api/users/register', JSON.stringify({ name: 'Ada' }));
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await json(res);
    assert.match(String(body.user_id), /^[0-9a-f-]{36}$/);
    assert.match(String(body.api_key), /^sk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/);
    assert.match(String(body.message), /shown only once/);
    const { rows } = await app.pool.query('SELECT * FROM api_keys WHERE user_id = $1', [body.user_id]);
    assert.equal(rows.length, 1);
    assert.match(rows[0].secret_hash, /^\$2[aby]\$10\$/);
    assert.ok(!JSON.stringify(rows[0]).includes(String(body.api_key)), 'the key itself is not stored');
    assert.deepEqual(rows[0].scopes, ['tools:read', 'tools:write', 'connections', 'keys']);
  });

  it('register works without a body and without a name', async () => {
    const res = await fetch(`${app.url}/api/users/register`, { method: 'POST' });
    assert.equal(res.status, 201);
    const empty = await post('/api/users/register', '{}');
    assert.equal(empty.status, 201);
  });

  it('rejects a name over 100 characters, unknown fields and wrong types with 400', async () => {
    for (const body of [{ name: 'x'.repeat(101) }, { name: 'ok', admin: true }, { name: 42 }, ['name']]) {
      const res = await post('/api/users/register', JSON.stringify(body));
      assert.equal(res.status, 400, JSON.stringify(body));
      assertError(await json(res), 'invalid_request');
    }
  });

  it('malformed JSON is 400 invalid_request, an oversized body 413, and neither creates a user', async () => {
    const { rows: before } = await app.pool.query('SELECT count(*)::int AS n FROM users');
    const malformed = await post('/api/users/register', '{"name":');
    assert.equal(malformed.status, 400);
    assertError(await json(malformed), 'invalid_request');
    const huge = await post('/api/users/register', JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }));
    assert.equal(huge.status, 413);
    assertError(await json(huge), 'payload_too_large');
    const { rows: after } = await app.pool.query('SELECT count(*)::int AS n FROM users');
    assert.equal(after[0].n, before[0].n);
  });

  it('a missing key is 401 with WWW-Authenticate', async () => {
    const res = await fetch(`${app.url}/api/connect/acme/status`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
    assertError(await json(res), 'unauthorized');
  });

  it('wrong, malformed and checksum-broken keys are 401 invalid_token', async () => {
    const { apiKey } = await register(app);
    const typo = apiKey.slice(0, -1) + (apiKey.endsWith('a') ? 'b' : 'a');
    const unknown = 'sk_000000000000_' + apiKey.split('_')[2];
    for (const key of ['sk_nope', 'not-a-key', typo, unknown]) {
      const res = await fetch(`${app.url}/api/connect/acme/status`, { headers: bearer(key) });
      assert.equal(res.status, 401, key);
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      assertError(await json(res), 'unauthorized');
    }
  });

  it('accepts X-API-Key as well as Authorization: Bearer', async () => {
    const { apiKey } = await register(app);
    const res = await fetch(`${app.url}/api/connect/acme/status`, { headers: { 'x-api-key': apiKey } });
    assert.equal(res.status, 404); // authenticated: the provider simply does not exist here
  });

  it('never accepts a key in the query string', async () => {
    const { apiKey } = await register(app);
    const res = await fetch(`${app.url}/api/connect/acme/status?api_key=${apiKey}`);
    assert.equal(res.status, 401);
    assert.match(String((await json(res)).error_description), /not accepted in the query string/);
  });

  it('a revoked key stops working', async () => {
    const { apiKey } = await register(app);
    await app.pool.query(`UPDATE api_keys SET revoked_at = now() WHERE public_id = $1`, [apiKey.split('_')[1]]);
    // The verification cache trusts a key for a few seconds; a fresh key was never cached.
    const res = await fetch(`${app.url}/api/connect/acme/status`, { headers: bearer(apiKey) });
    assert.equal(res.status, 401);
  });

  it('unknown routes are JSON 404s', async () => {
    const res = await fetch(`${app.url}/api/nope`);
    assert.equal(res.status, 404);
    assertError(await json(res), 'not_found');
  });

  it('/healthz and /readyz answer 200 when the database is migrated', async () => {
    assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
  });

  it('/readyz is 503 when migrations are missing', async () => {
    const { rows } = await app.pool.query(`DELETE FROM pgmigrations RETURNING name, run_on`);
    try {
      const res = await fetch(`${app.url}/readyz`);
      assert.equal(res.status, 503);
    } finally {
      // Put back every row, not only the first migration's, so later checks see a migrated database.
      for (const row of rows) await app.pool.query(`INSERT INTO pgmigrations (name, run_on) VALUES ($1, $2)`, [row.name, row.run_on]);
    }
    assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
  });

  it('/mcp refuses a foreign Host or Origin with 403 before looking at the key', async () => {
    const { apiKey } = await register(app);
    const init = (headers: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...bearer(apiKey), ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    const evilOrigin = await fetch(`${app.url}/mcp`, init({ origin: 'https://evil.example' }));
    assert.equal(evilOrigin.status, 403);
    const ok = await fetch(`${app.url}/mcp`, init({ origin: app.url }));
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { jsonrpc: '2.0', id: 1, result: {} });
    // fetch cannot forge Host; a raw request can.
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${app.url}/mcp`, { ...init({}), headers: { ...init({}).headers, host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(init({}).body);
    });
    assert.equal(status, 403);
  });

  it('GET and DELETE /mcp are 405 on this stateless server', async () => {
    const { apiKey } = await register(app);
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${app.url}/mcp`, { method, headers: { ...bearer(apiKey), accept: 'text/event-stream' } });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'POST');
    }
  });
});
