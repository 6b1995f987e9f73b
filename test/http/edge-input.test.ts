import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { csrfOf, WebClient } from '../web/web-client.js';

/** Issue 18 items 6 and 7: input PostgreSQL or the router cannot take is a 400 at the edge, not a 500. */
describe('hostile text at the edge', () => {
  let db: TestDatabase;
  let app: TestApp;
  let apiKey: string;
  let clientId: string;
  const redirectUri = 'http://127.0.0.1:9/callback';
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, providers: [] });
    ({ apiKey } = await register(app, 'edge'));
    const dcr = await fetch(`${app.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'edge client', redirect_uris: [redirectUri] }),
    });
    assert.equal(dcr.status, 201);
    clientId = ((await dcr.json()) as { client_id: string }).client_id;
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  const json = (method: string, path: string, body: unknown, key?: string) =>
    fetch(`${app.url}${path}`, { method, headers: { 'content-type': 'application/json', ...(key ? bearer(key) : {}) }, body: JSON.stringify(body) });
  const assertBadRequest = async (res: Response, what: string, code = 'invalid_request') => {
    assert.equal(res.status, 400, what);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description'], what);
    assert.equal(body.error, code, what);
  };

  it('a NUL byte in any text field is 400, never a 500 from PostgreSQL', async () => {
    await assertBadRequest(await json('POST', '/api/users/register', { name: 'a\u0000b' }), 'register name');
    await assertBadRequest(await json('POST', '/api/keys', { name: 'k\u0000' }, apiKey), 'key name');
    await assertBadRequest(await json('POST', '/api/keys', { name: 'ok', 'sc\u0000opes': ['keys'] }, apiKey), 'a NUL in a key');
    await assertBadRequest(await json('POST', '/oauth/register', { client_name: 'x\u0000', redirect_uris: [redirectUri] }), 'DCR client_name', 'invalid_client_metadata');
    await assertBadRequest(await json('POST', '/oauth/register', { redirect_uris: [`${redirectUri}\u0000x`] }), 'DCR redirect path', 'invalid_client_metadata');
    const authorize = (params: Record<string, string>) =>
      fetch(`${app.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', redirect_uri: redirectUri, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', ...params })}`, { redirect: 'manual' });
    await assertBadRequest(await authorize({ client_id: 'abc\u0000' }), 'authorize client_id');
    await assertBadRequest(await authorize({ client_id: clientId, state: 's\u0000' }), 'authorize state');
    await assertBadRequest(await fetch(`${app.url}/api/connect/acme/callback?code=c&state=%00`), 'callback state');
    await assertBadRequest(await fetch(`${app.url}/api/usage?from=2026-01-01%00`, { headers: bearer(apiKey) }), 'usage query');

    // The web form answers with a page (its error renderer), still a 400.
    const web = new WebClient(app.url);
    const landing = await web.get('/');
    const page = await web.post('/register', { csrf_token: csrfOf(landing.html), name: 'web\u0000user' });
    assert.equal(page.status, 400, 'web register name');
    assert.match(page.html, /NUL/);
    assert.ok(!app.logs.some((line) => line.includes('"level":50')), 'nothing was logged as an unhandled error');
  });

  it('malformed percent-encoding in a path is 400 (API and web page)', async () => {
    await assertBadRequest(await fetch(`${app.url}/api/connect/%E0%A4%A/status`, { headers: bearer(apiKey) }), 'API path');
    await assertBadRequest(await fetch(`${app.url}/api/keys/%zz`, { method: 'DELETE', headers: bearer(apiKey) }), 'API path with a bad escape');
    const web = await fetch(`${app.url}/dashboard/keys/%E0%A4%A/rotate`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' });
    assert.equal(web.status, 400, 'web page path');
    assert.ok(!app.logs.some((line) => line.includes('"level":50')), 'nothing was logged as an unhandled error');
  });
});
