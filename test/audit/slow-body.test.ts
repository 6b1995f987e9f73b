import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { register, startApp, type TestApp } from '../support/app.js';
import { call } from '../support/api-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** POSTs JSON whose body arrives in a later packet than the headers, as from a slow client. */
function postSlowly(url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.flushHeaders();
    setTimeout(() => req.end(body), 150);
  });
}

describe('audit events keep their actor whatever the request body’s timing', () => {
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

  it('a body that arrives after the headers still records address, user agent and key', async () => {
    const { apiKey } = await register(app);
    const status = await postSlowly(`${app.url}/api/keys`, { authorization: `Bearer ${apiKey}`, 'user-agent': 'slow-client/1', 'x-forwarded-for': '198.51.100.77' }, JSON.stringify({ name: 'slow' }));
    assert.equal(status, 201);
    const { body } = await call<{ events: Array<{ type: string; ip: string | null; user_agent: string | null; key_prefix: string | null }> }>(app.url, 'GET', '/api/audit?limit=1', { key: apiKey });
    assert.deepEqual(body.events[0], { ...body.events[0], type: 'key.created', ip: '198.51.100.77', user_agent: 'slow-client/1', key_prefix: apiKey.slice(0, 15) });
  });
});
