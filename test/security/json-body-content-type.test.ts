import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * A JSON body sent as text/plain (or with no type) used to be skipped by the JSON parser: the
 * route read `{}` and applied its defaults, so `POST /api/keys {"scopes":["tools:read"]}` minted a
 * key with every scope. Every JSON route now refuses such a body with the contract's 400.
 */
describe('a JSON route refuses a body that is not sent as JSON', () => {
  let db: TestDatabase;
  let app: TestApp;
  let apiKey: string;
  let userId: string;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, providers: [] });
    ({ apiKey, userId } = await register(app, 'content types'));
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  const send = (method: string, path: string, body: string | Uint8Array, contentType: string | undefined, key = apiKey) =>
    fetch(`${app.url}${path}`, {
      method,
      headers: { ...bearer(key), ...(contentType ? { 'content-type': contentType } : {}) },
      // A Uint8Array body gets no Content-Type from fetch: the "no type at all" case.
      body: contentType ? body : new TextEncoder().encode(String(body)),
    });
  const keyCount = async () => Number((await app.pool.query('SELECT count(*) FROM api_keys WHERE user_id = $1', [userId])).rows[0].count);

  const assertContractError = async (res: Response, code = 'invalid_request') => {
    assert.equal(res.status, 400);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
    assert.equal(body.error, code);
  };

  it('POST /api/keys with a narrow scope as text/plain, form or no type: 400, and no key is minted', async () => {
    const before = await keyCount();
    const wanted = JSON.stringify({ name: 'read only', scopes: ['tools:read'] });
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      await assertContractError(await send('POST', '/api/keys', wanted, type));
    }
    assert.equal(await keyCount(), before, 'no key was created with default (all) scopes');

    // The same request as JSON gets exactly the scope it asked for.
    const ok = await send('POST', '/api/keys', wanted, 'application/json; charset=utf-8');
    assert.equal(ok.status, 201);
    assert.deepEqual(((await ok.json()) as { scopes: string[] }).scopes, ['tools:read']);
  });

  it('every other JSON route with a body refuses text/plain the same way', async () => {
    const created = (await (await send('POST', '/api/keys', '{"name":"to rotate"}', 'application/json')).json()) as { id: string };
    const cases: [string, string][] = [
      ['POST', '/api/users/register'],
      ['POST', `/api/keys/${created.id}/rotate`],
      ['PUT', '/api/connect/hitl/key'],
      ['DELETE', `/api/keys/${created.id}`],
    ];
    for (const [method, path] of cases) {
      await assertContractError(await send(method, path, '{"name":"x","grace_seconds":60,"api_key":"k"}', 'text/plain'));
    }
    // The key was neither rotated nor revoked by the refused requests.
    const { rows } = await app.pool.query('SELECT revoked_at FROM api_keys WHERE id = $1', [created.id]);
    assert.equal(rows[0].revoked_at, null);
  });

  it('DCR (POST /oauth/register) refuses a client registration sent as text/plain', async () => {
    const metadata = JSON.stringify({ client_name: 'plain', redirect_uris: ['http://127.0.0.1:9/cb'] });
    for (const type of ['text/plain', undefined]) {
      await assertContractError(await send('POST', '/oauth/register', metadata, type), 'invalid_client_metadata');
    }
    const { rows } = await app.pool.query("SELECT count(*) FROM oauth_clients WHERE client_name = 'plain'");
    assert.equal(Number(rows[0].count), 0);
  });

  it('a POST without body bytes (Content-Length: 0) still works, with or without a type', async () => {
    const created = (await (await send('POST', '/api/keys', '{}', 'application/json')).json()) as { id: string };
    const rotated = await fetch(`${app.url}/api/keys/${created.id}/rotate`, { method: 'POST', headers: bearer(apiKey) });
    assert.equal(rotated.status, 201);
    const registered = await fetch(`${app.url}/api/users/register`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '' });
    assert.equal(registered.status, 201);
  });
});
