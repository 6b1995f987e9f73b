import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { register, startApp, type TestApp } from '../support/app.js';
import { call, createKey, sleep, waitUntil, type KeyCreated } from '../support/api-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ALL = ['tools:read', 'tools:write', 'connections', 'keys'];

describe('managing API keys with a key', () => {
  let db: TestDatabase;
  let app: TestApp;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, limits: { keyPerMinute: 1000, keyPerHour: 20_000 } });
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  /** 200 when the key works (GET /api/keys), 401 when it does not. */
  const works = async (key: string): Promise<number> => (await call(app.url, 'GET', '/api/keys', { key })).status;

  it('creates a key with the contract shape; the secret is shown once and works', async () => {
    const { apiKey } = await register(app);
    const res = await call<KeyCreated>(app.url, 'POST', '/api/keys', {
      key: apiKey,
      body: { name: 'ci', expires_in: 3600, scopes: ['tools:read'], rate_limit: { per_minute: 30 } },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = res.body;
    assert.deepEqual(Object.keys(body).sort(), ['api_key', 'expires_at', 'id', 'name', 'prefix', 'rate_limit', 'scopes']);
    assert.match(body.api_key, /^sk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/);
    assert.ok(body.api_key.startsWith(`${body.prefix}_`));
    assert.equal(body.name, 'ci');
    assert.deepEqual(body.scopes, ['tools:read']);
    assert.deepEqual(body.rate_limit, { per_minute: 30, per_hour: 20_000 });
    const expires = Date.parse(body.expires_at ?? '');
    assert.ok(Math.abs(expires - (Date.now() + 3600_000)) < 60_000, body.expires_at ?? 'no expiry');
    // The new key authenticates (it lacks the keys scope, so the keys API is 403, not 401).
    assert.equal(await works(body.api_key), 403);
  });

  it('lists the user’s keys without any secret, and only that user’s', async () => {
    const alice = await register(app, 'alice');
    const bob = await register(app, 'bob');
    const extra = await createKey(app.url, alice.apiKey, { name: 'second' });
    await createKey(app.url, bob.apiKey, { name: 'bobs' });
    const res = await call<{ keys: Array<Record<string, unknown>> }>(app.url, 'GET', '/api/keys', { key: alice.apiKey });
    assert.equal(res.status, 200);
    const keys = res.body.keys;
    assert.deepEqual(keys.map((k) => k.name).sort(), ['default', 'second']);
    for (const k of keys) {
      assert.deepEqual(Object.keys(k).sort(), ['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'prefix', 'rate_limit', 'scopes']);
      assert.deepEqual(k.scopes, ALL);
    }
    const text = JSON.stringify(res.body);
    assert.ok(!text.includes(alice.apiKey) && !text.includes(extra.api_key), 'no secret in the list');
    assert.ok(!text.includes('$2'), 'no bcrypt hash in the list');
    assert.equal(keys.find((k) => k.name === 'second')?.id, extra.id);
  });

  it('DELETE revokes a key at once; a second delete and another user’s key id are 404', async () => {
    const alice = await register(app, 'alice');
    const bob = await register(app, 'bob');
    const victim = await createKey(app.url, alice.apiKey, { name: 'victim' });
    assert.equal(await works(victim.api_key), 200); // warm: verified and cached
    const bobsTry = await call(app.url, 'DELETE', `/api/keys/${victim.id}`, { key: bob.apiKey });
    assert.equal(bobsTry.status, 404);
    assert.equal(await works(victim.api_key), 200, 'bob could not revoke alice’s key');

    const res = await call(app.url, 'DELETE', `/api/keys/${victim.id}`, { key: alice.apiKey });
    assert.equal(res.status, 200);
    assert.match(String(res.body.message), /revoked/);
    assert.equal(await works(victim.api_key), 401, 'revocation takes effect immediately on this instance');
    assert.equal((await call(app.url, 'DELETE', `/api/keys/${victim.id}`, { key: alice.apiKey })).status, 404);
    assert.equal((await call(app.url, 'DELETE', '/api/keys/not-a-uuid', { key: alice.apiKey })).status, 404);
    const listed = await call<{ keys: Array<{ id: string }> }>(app.url, 'GET', '/api/keys', { key: alice.apiKey });
    assert.ok(!listed.body.keys.some((k) => k.id === victim.id), 'a revoked key is no longer listed');
  });

  it('a key can revoke itself', async () => {
    const { apiKey } = await register(app);
    const listed = await call<{ keys: Array<{ id: string }> }>(app.url, 'GET', '/api/keys', { key: apiKey });
    const own = listed.body.keys[0]?.id;
    const res = await call(app.url, 'DELETE', `/api/keys/${own}`, { key: apiKey });
    assert.equal(res.status, 200);
    assert.match(String(res.body.message), /used for this request/);
    assert.equal(await works(apiKey), 401);
  });

  it('scopes default to the creating key’s, and a key can never grant more than it has (403 insufficient_scope)', async () => {
    const { apiKey } = await register(app);
    const manager = await createKey(app.url, apiKey, { scopes: ['keys', 'connections'] });
    const inherited = await createKey(app.url, manager.api_key, {});
    assert.deepEqual(inherited.scopes, ['keys', 'connections']);
    const narrower = await createKey(app.url, manager.api_key, { scopes: ['connections'] });
    assert.deepEqual(narrower.scopes, ['connections']);
    for (const scopes of [['tools:read'], ['keys', 'tools:write']]) {
      const res = await call(app.url, 'POST', '/api/keys', { key: manager.api_key, body: { scopes } });
      assert.equal(res.status, 403, JSON.stringify(scopes));
      assert.equal(res.body.error, 'insufficient_scope');
      assert.match(String(res.body.error_description), /tools:/);
    }
    // tools:write reaches every tool, so it covers tools:read.
    const writer = await createKey(app.url, apiKey, { scopes: ['keys', 'tools:write'] });
    assert.deepEqual((await createKey(app.url, writer.api_key, { scopes: ['tools:read'] })).scopes, ['tools:read']);
  });

  it('rate limits default to the creating key’s and can only go down; a key never outlives its creator', async () => {
    const { apiKey } = await register(app);
    const limited = await createKey(app.url, apiKey, { scopes: ['keys'], rate_limit: { per_minute: 10, per_hour: 100 }, expires_in: 3600 });
    const child = await createKey(app.url, limited.api_key, {});
    assert.deepEqual(child.rate_limit, { per_minute: 10, per_hour: 100 });
    assert.equal(child.expires_at, limited.expires_at, 'inherits the creator’s expiry');
    const lower = await createKey(app.url, limited.api_key, { rate_limit: { per_minute: 5 } });
    assert.deepEqual(lower.rate_limit, { per_minute: 5, per_hour: 100 });
    for (const body of [{ rate_limit: { per_minute: 11 } }, { rate_limit: { per_hour: 101 } }, { expires_in: 7200 }]) {
      const res = await call(app.url, 'POST', '/api/keys', { key: limited.api_key, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error, 'invalid_request');
    }
  });

  it('bad bodies are 400 invalid_request', async () => {
    const { apiKey } = await register(app);
    const bad = [
      { scopes: ['admin'] },
      { scopes: [] },
      { scopes: ['keys', 'keys'] },
      { expires_in: 0 },
      { expires_in: 1.5 },
      { name: 'x'.repeat(101) },
      { rate_limit: { per_minute: 0 } },
      { rate_limit: { per_day: 5 } },
      { owner: 'someone-else' },
    ];
    for (const body of bad) {
      const res = await call(app.url, 'POST', '/api/keys', { key: apiKey, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error, 'invalid_request');
    }
    const rotate = await call(app.url, 'POST', '/api/keys/00000000-0000-4000-8000-000000000000/rotate', { key: apiKey, body: { grace_seconds: -1 } });
    assert.equal(rotate.status, 400);
  });

  it('an expiring key works until expires_at and not a moment after', async () => {
    const { apiKey } = await register(app);
    const short = await createKey(app.url, apiKey, { expires_in: 2 });
    assert.equal(await works(short.api_key), 200);
    await sleep(Date.parse(short.expires_at ?? '') - Date.now() + 50);
    assert.equal(await works(short.api_key), 401);
  });

  it('rotation: a new secret with the same settings; the old one works for the grace period, then never', async () => {
    const { apiKey } = await register(app);
    const old = await createKey(app.url, apiKey, { name: 'deploy', scopes: ['keys', 'connections'], rate_limit: { per_minute: 50 } });
    assert.equal(await works(old.api_key), 200);
    const res = await call<KeyCreated & { rotated_from: string; previous_key_expires_at: string }>(app.url, 'POST', `/api/keys/${old.id}/rotate`, {
      key: apiKey,
      body: { grace_seconds: 2 },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const fresh = res.body;
    assert.notEqual(fresh.id, old.id);
    assert.notEqual(fresh.api_key, old.api_key);
    assert.equal(fresh.rotated_from, old.id);
    assert.equal(fresh.name, 'deploy');
    assert.deepEqual(fresh.scopes, ['keys', 'connections']);
    assert.equal(fresh.rate_limit.per_minute, 50);
    assert.equal(fresh.expires_at, null);
    assert.equal(await works(fresh.api_key), 200);
    assert.equal(await works(old.api_key), 200, 'the old secret works during the grace period');
    await sleep(Date.parse(fresh.previous_key_expires_at) - Date.now() + 50);
    assert.equal(await works(old.api_key), 401, 'and not after it');
    assert.equal(await works(fresh.api_key), 200);
    const again = await call(app.url, 'POST', `/api/keys/${old.id}/rotate`, { key: apiKey, body: {} });
    assert.equal(again.status, 404, 'a dead key cannot be rotated');
  });

  it('rotation without grace stops the old secret at once; a key is rotated only once', async () => {
    const { apiKey } = await register(app);
    const old = await createKey(app.url, apiKey, { scopes: ['keys'] });
    assert.equal(await works(old.api_key), 200);
    const rotated = await call<KeyCreated>(app.url, 'POST', `/api/keys/${old.id}/rotate`, { key: old.api_key });
    assert.equal(rotated.status, 201);
    assert.equal(await works(old.api_key), 401);
    assert.equal(await works(rotated.body.api_key), 200);

    const graced = await createKey(app.url, apiKey, { scopes: ['keys'] });
    assert.equal((await call(app.url, 'POST', `/api/keys/${graced.id}/rotate`, { key: apiKey, body: { grace_seconds: 600 } })).status, 201);
    const twice = await call(app.url, 'POST', `/api/keys/${graced.id}/rotate`, { key: apiKey, body: { grace_seconds: 600 } });
    assert.equal(twice.status, 400);
    assert.equal(twice.body.error, 'already_rotated');
  });

  it('a key cannot rotate a key with more scopes (that would hand it those scopes), nor another user’s key', async () => {
    const alice = await register(app, 'alice');
    const bob = await register(app, 'bob');
    const keysOnly = await createKey(app.url, alice.apiKey, { scopes: ['keys'] });
    const aliceDefault = (await call<{ keys: Array<{ id: string; name: string }> }>(app.url, 'GET', '/api/keys', { key: alice.apiKey })).body.keys.find(
      (k) => k.name === 'default',
    );
    const escalate = await call(app.url, 'POST', `/api/keys/${aliceDefault?.id}/rotate`, { key: keysOnly.api_key });
    assert.equal(escalate.status, 403);
    assert.equal(escalate.body.error, 'insufficient_scope');
    assert.equal(await works(alice.apiKey), 200, 'the refused rotation changed nothing');
    const foreign = await call(app.url, 'POST', `/api/keys/${aliceDefault?.id}/rotate`, { key: bob.apiKey });
    assert.equal(foreign.status, 404);
  });

  it('at most 50 working keys per user', async () => {
    const { apiKey } = await register(app);
    for (let i = 1; i < 50; i++) await createKey(app.url, apiKey, { name: `k${i}`, scopes: ['connections'] });
    const over = await call(app.url, 'POST', '/api/keys', { key: apiKey, body: {} });
    assert.equal(over.status, 400);
    assert.equal(over.body.error, 'too_many_keys');
  });

  it('last_used_at is written by the background sync, not on every request', async () => {
    const { apiKey } = await register(app);
    const listed = async () => (await call<{ keys: Array<{ last_used_at: string | null }> }>(app.url, 'GET', '/api/keys', { key: apiKey })).body.keys[0];
    await listed();
    await waitUntil(async () => (await listed())?.last_used_at !== null, 5_000);
    const first = (await listed())?.last_used_at;
    assert.ok(first && Date.now() - Date.parse(first) < 5_000, `last_used_at after a sync: ${first}`);
    for (let i = 0; i < 5; i++) await listed();
    await sleep(2_200); // two more syncs
    assert.equal((await listed())?.last_used_at, first, 'written at most once a minute per key');
  });
});
