import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { callApi } from '../support/json-api.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

const FALLBACK_KEY = 'hk_ops_9z8y7x6w5v4u3t2s1r0q';
const ALICE_KEY = 'hk_live_4f9a1c2e8b7d6a5f3e2d1c0b';
/** "$&" and "$'" are String.replace patterns; "+", "&", "=" and "/" need encoding in a query. */
const AWKWARD_KEY = "hk_live_$&_$'_a+b/c=d&e%41";

async function putKey(app: TestApp, apiKey: string, provider: string, key: string): Promise<void> {
  const res = await callApi(app.url, 'PUT', `/api/connect/${provider}/key`, { key: apiKey, body: { api_key: key } });
  assert.equal(res.status, 200, res.text);
}

async function call(app: TestApp, apiKey: string, name: string, args: Record<string, unknown> = {}) {
  const client = await connectMcp(app.url, apiKey);
  try {
    const result = await client.callTool({ name, arguments: args });
    return { isError: result.isError === true, text: textOf(result) };
  } finally {
    await client.close();
  }
}

describe('tool calls of API-key providers use the user’s key, or the fallback', () => {
  let db: TestDatabase;
  let app: TestApp;
  let bearerUp: KeyUpstream;
  let headerUp: KeyUpstream;
  let queryUp: KeyUpstream;

  before(async () => {
    db = await createTestDatabase();
    const accounts = { [ALICE_KEY]: 'alice-acct', [AWKWARD_KEY]: 'awkward-acct', [FALLBACK_KEY]: 'operator-acct' };
    bearerUp = await startKeyUpstream({ accounts, style: { header: 'Authorization', template: 'Bearer {key}' } });
    headerUp = await startKeyUpstream({ accounts, style: { header: 'X-API-Key' } });
    queryUp = await startKeyUpstream({ accounts, style: { query: 'api_key' } });
    app = await startApp({
      databaseUrl: db.url,
      env: { HITL_API_KEY: FALLBACK_KEY },
      providers: [
        keyProvider(bearerUp, { fallback_key: '${HITL_API_KEY}' }),
        keyProvider(headerUp, { id: 'xkey', name: 'XKey', api_key: { header: 'X-API-Key' } }),
        keyProvider(queryUp, { id: 'qkey', name: 'QKey', api_key: { query: 'api_key' } }),
      ],
    });
  });
  after(async () => {
    await app.close();
    await Promise.all([bearerUp.close(), headerUp.close(), queryUp.close()]);
    await db.drop();
  });

  it('Authorization: Bearer {key}: the upstream sees the user’s key on every call', async () => {
    const alice = await register(app, 'alice');
    await putKey(app, alice.apiKey, 'hitl', ALICE_KEY);
    const before = bearerUp.requests.length;
    const me = await call(app, alice.apiKey, 'hitl_whoami');
    assert.deepEqual({ ...me, text: JSON.parse(me.text) }, { isError: false, text: { account: 'alice-acct' } });
    const echo = await call(app, alice.apiKey, 'hitl_echo', { message: 'hi' });
    assert.deepEqual(JSON.parse(echo.text), { account: 'alice-acct', body: { message: 'hi' } });
    const calls = bearerUp.requests.slice(before);
    assert.deepEqual(
      calls.map((r) => [r.method, r.path, r.headers.authorization]),
      [
        ['GET', '/v1/me', `Bearer ${ALICE_KEY}`],
        ['POST', '/v1/echo', `Bearer ${ALICE_KEY}`],
      ],
    );
  });

  it('X-API-Key: {key}: the key goes in that header and nowhere else', async () => {
    const bo = await register(app, 'bo');
    await putKey(app, bo.apiKey, 'xkey', AWKWARD_KEY);
    const me = await call(app, bo.apiKey, 'xkey_whoami');
    assert.equal(JSON.parse(me.text).account, 'awkward-acct');
    const seen = headerUp.requests.at(-1);
    assert.equal(seen?.headers['x-api-key'], AWKWARD_KEY, 'the key arrives byte for byte');
    assert.equal(seen?.headers.authorization, undefined);
    assert.equal(seen?.path, '/v1/me');
  });

  it('query parameter: the key is URL-encoded beside the tool’s own query params', async () => {
    const cy = await register(app, 'cy');
    await putKey(app, cy.apiKey, 'qkey', AWKWARD_KEY);
    const item = await call(app, cy.apiKey, 'qkey_get_item', { id: 'a/b', q: 'x&y' });
    assert.deepEqual(JSON.parse(item.text), { id: 'a/b', q: 'x&y', account: 'awkward-acct' });
    const seen = queryUp.requests.at(-1);
    assert.equal(seen?.key, AWKWARD_KEY);
    assert.equal(seen?.headers.authorization, undefined);
    const url = new URL(seen?.path ?? '', 'http://x');
    assert.equal(url.pathname, '/v1/items/a%2Fb');
    assert.deepEqual([...url.searchParams.keys()], ['q', 'api_key']);
    assert.equal(url.searchParams.get('q'), 'x&y');
  });

  it('users without a key of their own are served by the fallback; a user’s key overrides it; DELETE falls back again', async () => {
    const dee = await register(app, 'dee');
    assert.equal(JSON.parse((await call(app, dee.apiKey, 'hitl_whoami')).text).account, 'operator-acct');
    assert.equal(bearerUp.requests.at(-1)?.headers.authorization, `Bearer ${FALLBACK_KEY}`);

    await putKey(app, dee.apiKey, 'hitl', ALICE_KEY);
    assert.equal(JSON.parse((await call(app, dee.apiKey, 'hitl_whoami')).text).account, 'alice-acct');
    assert.equal(bearerUp.requests.at(-1)?.headers.authorization, `Bearer ${ALICE_KEY}`);

    assert.equal((await callApi(app.url, 'DELETE', '/api/connect/hitl', { key: dee.apiKey })).status, 200);
    assert.equal(JSON.parse((await call(app, dee.apiKey, 'hitl_whoami')).text).account, 'operator-acct');
  });

  it('without a key or a fallback, the result says how to set one and nothing goes upstream', async () => {
    const eve = await register(app, 'eve');
    const before = queryUp.requests.length;
    const result = await call(app, eve.apiKey, 'qkey_whoami');
    assert.equal(result.isError, true);
    assert.match(result.text, new RegExp(`not set a QKey API key yet\\. To set one, enter it on ${app.url}/dashboard#connections in your browser, or send PUT ${app.url}/api/connect/qkey/key with the JSON body \\{"api_key"`));
    assert.equal(queryUp.requests.length, before);
  });

  it('a key the upstream later refuses: isError says so and how to replace it; the key is kept and never echoed', async () => {
    const fin = await register(app, 'fin');
    const key = 'hk_live_soon_revoked_0123456789ab';
    queryUp.addKey(key, 'fin-acct');
    await putKey(app, fin.apiKey, 'qkey', key);
    queryUp.revokeKey(key);
    const before = queryUp.requests.length;

    const result = await call(app, fin.apiKey, 'qkey_whoami');
    assert.equal(result.isError, true);
    assert.match(result.text, /QKey refused your API key \(HTTP 401\).*Your key is still stored; to replace it, enter it on http:\/\/\S+\/dashboard#connections in your browser, or send PUT .*\/api\/connect\/qkey\/key/s);
    // The upstream's body echoes the key it got; the proxy scrubs it.
    assert.match(result.text, /Invalid API key provided: \[redacted\]/);
    assert.ok(!result.text.includes(key));
    assert.equal(queryUp.requests.length, before + 1, 'a refused key is not retried');

    const status = await callApi(app.url, 'GET', '/api/connect/qkey/status', { key: fin.apiKey });
    assert.equal(status.body.key_source, 'user');
  });

  it('403 (the key lacks a permission) is reported the same way, with the upstream’s reason', async () => {
    const gil = await register(app, 'gil');
    await putKey(app, gil.apiKey, 'hitl', ALICE_KEY);
    const result = await call(app, gil.apiKey, 'hitl_admin');
    assert.equal(result.isError, true);
    assert.match(result.text, /HITL refused your API key \(HTTP 403\): it may be revoked, mistyped or lack permission/);
    assert.match(result.text, /lacks the admin permission/);
  });

  it('a refused fallback tells the user to set their own key and warns the operator', async () => {
    const hana = await register(app, 'hana');
    bearerUp.revokeKey(FALLBACK_KEY);
    try {
      const result = await call(app, hana.apiKey, 'hitl_whoami');
      assert.equal(result.isError, true);
      assert.match(result.text, /HITL refused this server's shared API key \(HTTP 401\)\. To use your own key instead, enter it on http:\/\/\S+\/dashboard#connections in your browser, or send PUT /);
      assert.ok(!result.text.includes(FALLBACK_KEY));
      assert.ok(app.logs.some((line) => line.includes('upstream refused the fallback API key')));
    } finally {
      bearerUp.addKey(FALLBACK_KEY, 'operator-acct');
    }
  });

  it('other upstream errors are reported as for OAuth providers', async () => {
    const ida = await register(app, 'ida');
    const result = await call(app, ida.apiKey, 'hitl_status', { code: 500 });
    assert.equal(result.isError, true);
    assert.match(result.text, /^HITL answered HTTP 500\.\n\{"status":500,"account":"operator-acct"\}$/);
  });
});
