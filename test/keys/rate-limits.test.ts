import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatKey, generateKey } from '../../src/keys/key-format.js';
import { register, startApp, type TestApp } from '../support/app.js';
import { call, createKey, roomInCurrentMinute, waitUntil } from '../support/api-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** Keys API as a cheap authenticated endpoint, from a chosen client address (the app trusts loopback proxies). */
const keysFrom = (app: TestApp, key: string, ip = '192.0.2.1') => call(app.url, 'GET', '/api/keys', { key, headers: { 'x-forwarded-for': ip } });

/** A well-formed key (valid checksum) for `publicId` with a wrong secret: it reaches the database and bcrypt. */
function guessFor(realKey: string): string {
  const publicId = realKey.split('_')[1] as string;
  const secret = generateKey().key.split('_')[2]?.slice(0, 32) as string;
  return formatKey(publicId, secret);
}

/** Waits when the current hour is about to end, so an hour-window counter cannot reset mid-test. */
async function roomInCurrentHour(seconds: number): Promise<void> {
  const left = 3_600_000 - (Date.now() % 3_600_000);
  if (left < seconds * 1000) await new Promise((r) => setTimeout(r, left + 50));
}

describe('per-key rate limits', () => {
  let db: TestDatabase;
  let app: TestApp;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, limits: { keyPerMinute: 8, keyPerHour: 1000 } });
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  it('every authenticated answer carries RateLimit headers for the window closest to its limit', async () => {
    await roomInCurrentMinute(15);
    const { apiKey } = await register(app);
    const res = await keysFrom(app, apiKey);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ratelimit-limit'), '8');
    assert.equal(res.headers.get('ratelimit-remaining'), '7');
    const reset = Number(res.headers.get('ratelimit-reset'));
    assert.ok(reset >= 1 && reset <= 60, `reset ${reset}`);
    assert.equal(res.headers.get('ratelimit-policy'), '8;w=60, 1000;w=3600');
  });

  it('the default limit: over it, 429 rate_limited with Retry-After; refused requests do not count', async () => {
    await roomInCurrentMinute(15);
    const { apiKey } = await register(app);
    const remaining: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await keysFrom(app, apiKey);
      assert.equal(res.status, 200, `request ${i + 1}`);
      remaining.push(res.headers.get('ratelimit-remaining') ?? '');
    }
    assert.deepEqual(remaining, ['7', '6', '5', '4', '3', '2', '1', '0']);
    for (let i = 0; i < 3; i++) {
      const over = await keysFrom(app, apiKey);
      assert.equal(over.status, 429);
      assert.equal(over.body.error, 'rate_limited');
      assert.match(String(over.body.error_description), /8 requests per minute/);
      const retryAfter = Number(over.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal(over.headers.get('ratelimit-remaining'), '0');
      assert.equal(over.headers.get('ratelimit-reset'), String(retryAfter));
    }
  });

  it('per-key overrides: each key has its own budget, and an hour limit reports the hour window', async () => {
    await roomInCurrentMinute(15);
    const { apiKey } = await register(app);
    const tight = await createKey(app.url, apiKey, { rate_limit: { per_minute: 2 } });
    const hourly = await createKey(app.url, apiKey, { rate_limit: { per_minute: 8, per_hour: 3 } });
    assert.equal((await keysFrom(app, tight.api_key)).status, 200);
    assert.equal((await keysFrom(app, tight.api_key)).status, 200);
    assert.equal((await keysFrom(app, tight.api_key)).status, 429);
    assert.equal((await keysFrom(app, apiKey)).status, 200, 'another key of the same user is not affected');

    await roomInCurrentHour(90);
    const first = await keysFrom(app, hourly.api_key);
    assert.equal(first.headers.get('ratelimit-limit'), '3');
    assert.equal(first.headers.get('ratelimit-policy'), '8;w=60, 3;w=3600');
    assert.equal((await keysFrom(app, hourly.api_key)).status, 200);
    assert.equal((await keysFrom(app, hourly.api_key)).status, 200);
    const over = await keysFrom(app, hourly.api_key);
    assert.equal(over.status, 429);
    assert.match(String(over.body.error_description), /3 requests per hour/);
    assert.ok(Number(over.headers.get('retry-after')) > 60, 'waits for the hour window to end');
  });

  it('counts reach PostgreSQL in the background, in minute and hour rows', async () => {
    await roomInCurrentMinute(15);
    const { apiKey } = await register(app);
    const keyId = (await keysFrom(app, apiKey)).body as { keys: Array<{ id: string }> };
    for (let i = 0; i < 3; i++) await keysFrom(app, apiKey);
    const windows = () =>
      app.pool.query<{ window_seconds: number; count: string }>('SELECT window_seconds, count FROM key_rate_windows WHERE key_id = $1 ORDER BY window_seconds', [
        keyId.keys[0]?.id,
      ]);
    await waitUntil(async () => (await windows()).rows.length === 2 && Number((await windows()).rows[0]?.count) === 4, 5_000);
    const { rows } = await windows();
    assert.deepEqual(
      rows.map((r) => [r.window_seconds, Number(r.count)]),
      [
        [60, 4],
        [3600, 4],
      ],
    );
  });
});

describe('per-address limits on registration and on refused keys', () => {
  let db: TestDatabase;
  let app: TestApp;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({
      databaseUrl: db.url,
      limits: { registrationsPerIpPerHour: 3, failedAuthPerIp: 5, failedAuthWindowSeconds: 3600 },
    });
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  const registerFrom = (ip: string) => call(app.url, 'POST', '/api/users/register', { body: {}, headers: { 'x-forwarded-for': ip } });

  it('registration: a few per address per hour, then 429 with Retry-After; other addresses are unaffected', async () => {
    await roomInCurrentHour(30);
    for (let i = 0; i < 3; i++) assert.equal((await registerFrom('198.51.100.1')).status, 201);
    const over = await registerFrom('198.51.100.1');
    assert.equal(over.status, 429);
    assert.equal(over.body.error, 'rate_limited');
    assert.ok(Number(over.headers.get('retry-after')) > 0);
    const { rows } = await app.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    assert.equal(rows[0]?.n, 3, 'the refused attempt created nothing');
    assert.equal((await registerFrom('198.51.100.2')).status, 201);
  });

  it('a brute-force attempt is cut off by the per-address limit, before any key lookup or bcrypt', async () => {
    await roomInCurrentHour(30);
    const victim = (await registerFrom('198.51.100.9')).body as { api_key: string };
    const attacker = '203.0.113.7';
    for (let i = 0; i < 5; i++) {
      const res = await keysFrom(app, guessFor(victim.api_key), attacker);
      assert.equal(res.status, 401, `guess ${i + 1}`);
    }
    // From here on no guess reaches the key lookup (and so no bcrypt either).
    const lookups: string[] = [];
    const query = app.pool.query.bind(app.pool);
    app.pool.query = ((...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('secret_hash')) lookups.push(args[0]);
      return (query as (...a: unknown[]) => unknown)(...args);
    }) as typeof app.pool.query;
    try {
      for (let i = 0; i < 20; i++) {
        const res = await keysFrom(app, guessFor(victim.api_key), attacker);
        assert.equal(res.status, 429, `guess ${i + 6}`);
        assert.match(String(res.body.error_description), /Too many invalid API keys/);
        assert.ok(Number(res.headers.get('retry-after')) > 0);
      }
    } finally {
      app.pool.query = query;
    }
    assert.equal(lookups.length, 0, 'refused guesses cost no lookup and no bcrypt');
    // Even the right key is not checked from that address while it is blocked…
    assert.equal((await keysFrom(app, victim.api_key, attacker)).status, 429);
    // …while everyone else is unaffected.
    assert.equal((await keysFrom(app, victim.api_key, '198.51.100.9')).status, 200);
  });

  it('IPv6 addresses count per /64, so rotating through one’s own /64 does not help', async () => {
    await roomInCurrentHour(30);
    const victim = (await registerFrom('198.51.100.10')).body as { api_key: string };
    for (let i = 1; i <= 5; i++) assert.equal((await keysFrom(app, guessFor(victim.api_key), `2001:db8:0:7::${i}`)).status, 401);
    assert.equal((await keysFrom(app, guessFor(victim.api_key), '2001:db8:0:7:ffff::1')).status, 429);
    assert.equal((await keysFrom(app, guessFor(victim.api_key), '2001:db8:0:8::1')).status, 401, 'another /64 is another client');
  });
});
