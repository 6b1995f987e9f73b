import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { STATUS_TTL_MS } from '../../src/keys/key-service.js';
import { register, startApp, type TestApp } from '../support/app.js';
import { call, createKey, roomInCurrentMinute, sleep, waitUntil } from '../support/api-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { spawnApp, type AppProcess } from '../support/spawn-app.js';

const LIMITS = { keyPerMinute: 1000, keyPerHour: 100_000 };
/** Each instance syncs every second; two intervals guarantee one sync began after a given commit. */
const TWO_SYNCS_MS = 2_200;
/** Slack for the probe requests themselves (a loaded CI machine) on top of the 5 s bound. */
const PROBE_SLACK_MS = 500;

/** Two instances on one database: A in this process, B a separate OS process. */
describe('several instances share revocations and rate limits', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: AppProcess;
  before(async () => {
    db = await createTestDatabase();
    const encryptionKey = randomBytes(32);
    [a, b] = await Promise.all([
      startApp({ databaseUrl: db.url, encryptionKey, limits: LIMITS }),
      spawnApp({ databaseUrl: db.url, encryptionKey: encryptionKey.toString('base64'), limits: LIMITS }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.stop()]);
    await db.drop();
  });

  const status = async (url: string, key: string): Promise<number> => (await call(url, 'GET', '/api/keys', { key })).status;

  /** Waits until both instances' counts for the key reached PostgreSQL, then until each has read them back. */
  async function bothSynced(keyId: string, total: number): Promise<void> {
    await waitUntil(async () => {
      const { rows } = await a.pool.query<{ count: string }>(`SELECT count FROM key_rate_windows WHERE key_id = $1 AND window_seconds = 60`, [keyId]);
      return Number(rows[0]?.count ?? 0) >= total;
    }, 10_000);
    await sleep(TWO_SYNCS_MS);
  }

  it('a key revoked on A is refused by B within the documented bound (5 s), though B had it cached', async (t) => {
    const { apiKey } = await register(a);
    const doomed = await createKey(a.url, apiKey, { name: 'doomed', scopes: ['keys'] });
    // Warm on B: from now on B checks it from memory only.
    assert.equal(await status(b.url, doomed.api_key), 200);
    assert.equal(await status(b.url, doomed.api_key), 200);

    const revoked = await call(a.url, 'DELETE', `/api/keys/${doomed.id}`, { key: apiKey });
    assert.equal(revoked.status, 200);
    assert.equal(await status(a.url, doomed.api_key), 401, 'at once on the instance that revoked it');
    const elapsed = await waitUntil(async () => (await status(b.url, doomed.api_key)) === 401, STATUS_TTL_MS + 2_000, 50);
    // Typically about one sync interval; 5 s is the bound, whatever B's sync does.
    t.diagnostic(`B refused the revoked key ${elapsed} ms after the revocation`);
    assert.ok(elapsed <= STATUS_TTL_MS + PROBE_SLACK_MS, `B refused it after ${elapsed} ms`);
    assert.equal(await status(b.url, apiKey), 200, 'other keys keep working on B');
  });

  it('a rotation’s grace period ends on B too', async () => {
    const { apiKey } = await register(a);
    const old = await createKey(a.url, apiKey, { scopes: ['keys'] });
    assert.equal(await status(b.url, old.api_key), 200);
    const rotated = await call<{ previous_key_expires_at: string }>(a.url, 'POST', `/api/keys/${old.id}/rotate`, { key: apiKey, body: { grace_seconds: 1 } });
    assert.equal(rotated.status, 201);
    await sleep(Date.parse(rotated.body.previous_key_expires_at) - Date.now());
    const elapsed = await waitUntil(async () => (await status(b.url, old.api_key)) === 401, STATUS_TTL_MS + 2_000, 50);
    assert.ok(elapsed <= STATUS_TTL_MS + PROBE_SLACK_MS, `B refused the old secret ${elapsed} ms after the grace period`);
  });

  it('both instances enforce one global count per key', async () => {
    await roomInCurrentMinute(20);
    const { apiKey } = await register(a);
    const limited = await createKey(a.url, apiKey, { scopes: ['keys'], rate_limit: { per_minute: 10 } });
    for (let i = 0; i < 6; i++) assert.equal(await status(a.url, limited.api_key), 200, `A request ${i + 1}`);
    assert.equal(await status(b.url, limited.api_key), 200, 'B request 1 (total 7)');
    await bothSynced(limited.id, 7); // each instance now knows the global total of 7
    assert.equal(await status(b.url, limited.api_key), 200, 'total 8');
    assert.equal(await status(b.url, limited.api_key), 200, 'total 9');
    assert.equal(await status(b.url, limited.api_key), 200, 'total 10');
    const overOnB = await call(b.url, 'GET', '/api/keys', { key: limited.api_key });
    assert.equal(overOnB.status, 429);
    assert.ok(Number(overOnB.headers.get('retry-after')) >= 1);
    await bothSynced(limited.id, 10);
    assert.equal(await status(a.url, limited.api_key), 429, 'A has learnt of B’s requests');
    const { rows } = await a.pool.query<{ count: string }>(`SELECT count FROM key_rate_windows WHERE key_id = $1 AND window_seconds = 60`, [limited.id]);
    assert.equal(Number(rows[0]?.count), 10, 'exactly the limit was admitted');
  });

  it('hammered on both instances at once, a key overshoots by at most what the other instance admits in one sync, then both refuse', async (t) => {
    await roomInCurrentMinute(20);
    const { apiKey } = await register(a);
    const limit = 20;
    const limited = await createKey(a.url, apiKey, { scopes: ['keys'], rate_limit: { per_minute: limit } });
    // Warm on both, so the burst below measures the limiter and not bcrypt.
    await Promise.all([status(a.url, limited.api_key), status(b.url, limited.api_key)]);
    const burst = (url: string) => Promise.all(Array.from({ length: 30 }, () => status(url, limited.api_key)));
    const [onA, onB] = await Promise.all([burst(a.url), burst(b.url)]);
    const admitted = [...onA, ...onB].filter((s) => s === 200).length + 2;
    t.diagnostic(`limit ${limit}, admitted ${admitted} across two instances`);
    assert.ok(admitted >= limit, `admitted ${admitted}`);
    assert.ok(admitted <= 2 * limit, `admitted ${admitted}: more than (instances − 1) × limit over`);
    await bothSynced(limited.id, admitted);
    assert.equal(await status(a.url, limited.api_key), 429);
    assert.equal(await status(b.url, limited.api_key), 429);
  });
});
