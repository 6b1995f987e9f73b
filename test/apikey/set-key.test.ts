import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKeyService } from '../../src/keys/key-service.js';
import { register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { callApi } from '../support/json-api.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';

const ALICE_KEY = 'hk_live_4f9a1c2e8b7d6a5f3e2d1c0b';
const ALICE_NEW_KEY = 'hk_live_77aa88bb99cc00dd11ee22ff';
const FALLBACK_KEY = 'hk_ops_9z8y7x6w5v4u3t2s1r0q';
const WRONG_KEY = 'hk_live_0000000000000000deadbeef';

function assertError(body: Record<string, unknown>, code: string): void {
  assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
  assert.equal(body.error, code);
}

describe('PUT /api/connect/:provider/key: validated, encrypted, with the operator fallback', () => {
  let db: TestDatabase;
  let app: TestApp;
  let upstream: KeyUpstream;

  before(async () => {
    db = await createTestDatabase();
    upstream = await startKeyUpstream({
      accounts: { [ALICE_KEY]: 'alice-acct', [ALICE_NEW_KEY]: 'alice-acct', [FALLBACK_KEY]: 'operator-acct' },
      style: { header: 'Authorization', template: 'Bearer {key}' },
    });
    app = await startApp({
      databaseUrl: db.url,
      env: { HITL_API_KEY: FALLBACK_KEY },
      providers: [
        keyProvider(upstream, { fallback_key: '${HITL_API_KEY}' }),
        // Same upstream, no fallback and no validation request: keys are stored unchecked.
        keyProvider(upstream, { id: 'plain', name: 'Plain', validate: undefined }),
        // Nothing listens on port 9 (discard): the validation request cannot connect.
        keyProvider(upstream, { id: 'gone', name: 'Gone', api_base_url: 'http://127.0.0.1:9/v1' }),
        {
          id: 'acme',
          name: 'Acme',
          auth: 'oauth2',
          authorization_url: 'http://127.0.0.1:9/authorize',
          token_url: 'http://127.0.0.1:9/token',
          client_id: 'client',
          api_base_url: 'http://127.0.0.1:9/api',
        },
      ],
    });
  });
  after(async () => {
    await app.close();
    await upstream.close();
    await db.drop();
  });

  const storedRows = async (userId: string): Promise<number> =>
    (await app.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM connections WHERE user_id = $1', [userId])).rows[0]?.n ?? -1;

  it('a good key is checked upstream, stored encrypted, and status shows only its last four characters', async () => {
    const alice = await register(app, 'alice');
    const put = await callApi(app.url, 'PUT', '/api/connect/hitl/key', { key: alice.apiKey, body: { api_key: ALICE_KEY } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.headers.get('cache-control'), 'no-store');
    assert.equal(put.body.provider, 'hitl');
    assert.equal(put.body.connected, true);
    assert.equal(put.body.key_source, 'user');
    assert.equal(put.body.key_last4, ALICE_KEY.slice(-4));
    assert.equal(put.body.expires_at, null);
    assert.ok(!put.text.includes(ALICE_KEY.slice(0, -4)), 'nothing but the last four characters is shown');

    // The validation request went upstream with exactly this key, the configured way.
    const checks = upstream.requestsWith(ALICE_KEY);
    assert.equal(checks.length, 1);
    assert.equal(checks[0]?.path, '/v1/me');
    assert.equal(checks[0]?.headers.authorization, `Bearer ${ALICE_KEY}`);

    const { rows } = await app.pool.query('SELECT access_token_enc, refresh_token_enc, expires_at FROM connections WHERE user_id = $1 AND provider_id = $2', [
      alice.userId,
      'hitl',
    ]);
    assert.equal(rows.length, 1);
    assert.match(rows[0].access_token_enc, /^v1\.[0-9a-f]{8}\./);
    assert.equal(rows[0].refresh_token_enc, null);
    assert.equal(rows[0].expires_at, null);

    const status = await callApi(app.url, 'GET', '/api/connect/hitl/status', { key: alice.apiKey });
    assert.equal(status.status, 200);
    assert.deepEqual(status.body, put.body);
  });

  it('a key the upstream refuses is 400 invalid_api_key, nothing is stored, and an earlier key stays in place', async () => {
    const bob = await register(app, 'bob');
    const refused = await callApi(app.url, 'PUT', '/api/connect/hitl/key', { key: bob.apiKey, body: { api_key: WRONG_KEY } });
    assert.equal(refused.status, 400);
    assertError(refused.body, 'invalid_api_key');
    assert.match(String(refused.body.error_description), /HITL refused this API key \(HTTP 401/);
    assert.ok(!refused.text.includes(WRONG_KEY), 'the refused key is not echoed');
    assert.equal(await storedRows(bob.userId), 0);
    assert.equal(upstream.requestsWith(WRONG_KEY).length, 1, 'it was checked upstream');

    assert.equal((await callApi(app.url, 'PUT', '/api/connect/hitl/key', { key: bob.apiKey, body: { api_key: ALICE_NEW_KEY } })).status, 200);
    const again = await callApi(app.url, 'PUT', '/api/connect/hitl/key', { key: bob.apiKey, body: { api_key: WRONG_KEY } });
    assert.equal(again.status, 400);
    const status = await callApi(app.url, 'GET', '/api/connect/hitl/status', { key: bob.apiKey });
    assert.equal(status.body.key_last4, ALICE_NEW_KEY.slice(-4), 'the earlier key is still the one in use');
  });

  it('the fallback serves users without a key; their own key overrides it; DELETE falls back again', async () => {
    const carol = await register(app, 'carol');
    const status = async () => (await callApi(app.url, 'GET', '/api/connect/hitl/status', { key: carol.apiKey })).body;

    assert.deepEqual(await status(), {
      provider: 'hitl',
      connected: true,
      needs_reauthorization: false,
      account_id: null,
      scopes: [],
      connected_at: null,
      expires_at: null,
      key_source: 'fallback',
      key_last4: null,
    });
    assert.equal((await callApi(app.url, 'PUT', '/api/connect/hitl/key', { key: carol.apiKey, body: { api_key: ALICE_KEY } })).status, 200);
    const own = await status();
    assert.equal(own.key_source, 'user');
    assert.match(String(own.connected_at), /^\d{4}-\d{2}-\d{2}T/);

    const del = await callApi(app.url, 'DELETE', '/api/connect/hitl', { key: carol.apiKey });
    assert.equal(del.status, 200);
    assert.match(String(del.body.message), /API key was deleted here\. Tool calls now use this server's shared key/);
    assert.equal(del.body.revoked_upstream, null);
    assert.equal(await storedRows(carol.userId), 0);
    assert.equal((await status()).key_source, 'fallback');

    const again = await callApi(app.url, 'DELETE', '/api/connect/hitl', { key: carol.apiKey });
    assert.equal(again.status, 404);
    assert.match(String(again.body.error_description), /not set your own HITL API key/);
  });

  it('without a fallback or a key, status says not connected; a provider without validate stores the key unchecked', async () => {
    const dan = await register(app, 'dan');
    const before = await callApi(app.url, 'GET', '/api/connect/plain/status', { key: dan.apiKey });
    assert.equal(before.body.connected, false);
    assert.equal(before.body.key_source, null);
    assert.equal(before.body.key_last4, null);

    const seen = upstream.requests.length;
    const put = await callApi(app.url, 'PUT', '/api/connect/plain/key', { key: dan.apiKey, body: { api_key: 'unchecked-key-1234' } });
    assert.equal(put.status, 200);
    assert.equal(put.body.key_source, 'user');
    assert.equal(put.body.key_last4, '1234');
    assert.equal(upstream.requests.length, seen, 'nothing went upstream');
  });

  it('an upstream that is down, or cannot be reached, is 502 upstream_unavailable and nothing is stored', async () => {
    const erin = await register(app, 'erin');
    upstream.setDown(true);
    try {
      const down = await callApi(app.url, 'PUT', '/api/connect/hitl/key', { key: erin.apiKey, body: { api_key: ALICE_KEY } });
      assert.equal(down.status, 502);
      assertError(down.body, 'upstream_unavailable');
      assert.match(String(down.body.error_description), /HITL answered HTTP 503 to the key check.*Nothing was stored/);
    } finally {
      upstream.setDown(false);
    }
    const gone = await callApi(app.url, 'PUT', '/api/connect/gone/key', { key: erin.apiKey, body: { api_key: ALICE_KEY } });
    assert.equal(gone.status, 502);
    assertError(gone.body, 'upstream_unavailable');
    assert.match(String(gone.body.error_description), /could not be reached/);
    assert.equal(await storedRows(erin.userId), 0);
  });

  it('the body is validated strictly before anything goes upstream', async () => {
    const fay = await register(app, 'fay');
    const seen = upstream.requests.length;
    const bodies: unknown[] = [
      {},
      { api_key: 42 },
      { api_key: null },
      { api_key: '' },
      { api_key: ' \t\n ' },
      { api_key: 'has inner space' },
      { api_key: 'bad\u0000byte' },
      { api_key: 'x'.repeat(4097) },
      { api_key: ALICE_KEY, extra: true },
      [ALICE_KEY],
      '{"api_key":',
    ];
    for (const body of bodies) {
      const res = await callApi(app.url, 'PUT', '/api/connect/hitl/key', { key: fay.apiKey, body });
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      assertError(res.body, 'invalid_request');
    }
    assert.equal(upstream.requests.length, seen, 'nothing went upstream');
    assert.equal(await storedRows(fay.userId), 0);

    // A pasted key with a trailing newline is the key.
    const padded = await callApi(app.url, 'PUT', '/api/connect/hitl/key', { key: fay.apiKey, body: { api_key: `  ${ALICE_KEY}\n` } });
    assert.equal(padded.status, 200);
    assert.equal(upstream.requests.at(-1)?.headers.authorization, `Bearer ${ALICE_KEY}`);
  });

  it('OAuth providers refuse PUT …/key, API-key providers refuse start, unknown providers are 404', async () => {
    const gus = await register(app, 'gus');
    const oauth = await callApi(app.url, 'PUT', '/api/connect/acme/key', { key: gus.apiKey, body: { api_key: ALICE_KEY } });
    assert.equal(oauth.status, 400);
    assertError(oauth.body, 'invalid_request');
    assert.match(String(oauth.body.error_description), /Acme uses OAuth, not API keys: connect it with GET \/api\/connect\/acme\/start/);

    const start = await callApi(app.url, 'GET', '/api/connect/hitl/start', { key: gus.apiKey });
    assert.equal(start.status, 400);
    assert.match(String(start.body.error_description), /uses API keys, not OAuth: set your key with PUT \/api\/connect\/hitl\/key/);

    const unknown = await callApi(app.url, 'PUT', '/api/connect/nope/key', { key: gus.apiKey, body: { api_key: ALICE_KEY } });
    assert.equal(unknown.status, 404);
    assertError(unknown.body, 'not_found');
  });

  it('needs a key with the connections scope', async () => {
    const hal = await register(app, 'hal');
    const { apiKey: readOnly } = await createKeyService(app.pool).mint(app.pool, { userId: hal.userId, name: 'ro', scopes: ['tools:read'], expiresAt: null });
    const put = await callApi(app.url, 'PUT', '/api/connect/hitl/key', { key: readOnly, body: { api_key: ALICE_KEY } });
    assert.equal(put.status, 403);
    assertError(put.body, 'insufficient_scope');
    const anonymous = await callApi(app.url, 'PUT', '/api/connect/hitl/key', { body: { api_key: ALICE_KEY } });
    assert.equal(anonymous.status, 401);
    assert.equal(await storedRows(hal.userId), 0);
  });
});
