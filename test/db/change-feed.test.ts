import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startChangeFeed, stillTrusted, type Change, type ChangeFeed } from '../../src/db/change-feed.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Issue 16: caches trust a copy for minutes because every instance reads, once a second, what
 * changed elsewhere. The rows are written by triggers, so every write path is covered — these
 * tests write with plain SQL, as an operator or another instance would.
 */
describe('the change feed', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let feed: ChangeFeed;
  const seen: Array<Change | undefined> = [];
  let userId: string;
  let keyId: string;

  before(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 3 });
    // Read by hand (read()), not by the timer.
    feed = startChangeFeed({ db: pool, log: createLogger('silent'), intervalMs: 3_600_000 });
    feed.subscribe((c) => seen.push(c));
    await feed.read();
    userId = (await pool.query<{ id: string }>(`INSERT INTO users (name) VALUES ('feed') RETURNING id`)).rows[0]?.id as string;
    keyId = (await pool.query<{ id: string }>(`INSERT INTO api_keys (user_id, public_id, secret_hash, scopes) VALUES ($1, 'feedkey', 'x', '{tools:read}') RETURNING id`, [userId])).rows[0]?.id as string;
    await pool.query(`INSERT INTO connections (user_id, provider_id, access_token_enc) VALUES ($1, 'acme', 'enc')`, [userId]);
  });
  after(async () => {
    await feed.stop();
    await pool.end();
    await db.drop();
  });

  async function changesAfter(write: () => Promise<unknown>): Promise<Array<Change | undefined>> {
    await feed.read();
    seen.length = 0;
    await write();
    await feed.read();
    return [...seen];
  }

  it('is nothing for new rows and for the usage sync stamping last_used_at', async () => {
    assert.deepEqual(await changesAfter(() => pool.query(`UPDATE api_keys SET last_used_at = now()`)), []);
    assert.ok(feed.appliedUntil > 0 && feed.coveredFrom <= feed.appliedUntil);
  });

  it('carries a key revoked, a user disabled and a connection changed, each once', async () => {
    assert.deepEqual(await changesAfter(() => pool.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [keyId])), [{ kind: 'key', userId, keyId }]);
    assert.deepEqual(await changesAfter(() => pool.query(`UPDATE users SET disabled_at = now() WHERE id = $1`, [userId])), [{ kind: 'user', userId }]);
    assert.deepEqual(await changesAfter(() => pool.query(`UPDATE users SET name = 'renamed' WHERE id = $1`, [userId])), [], 'a rename changes no standing');
    assert.deepEqual(
      await changesAfter(() => pool.query(`UPDATE connections SET access_token_enc = 'refreshed' WHERE user_id = $1`, [userId])),
      [{ kind: 'connection', userId, providerId: 'acme' }],
    );
    // Read again within the look-back: the same rows come back from the database, and are skipped.
    seen.length = 0;
    await feed.read();
    assert.deepEqual(seen, []);
  });

  it('carries a deleted user with their keys and connections', async () => {
    const changes = await changesAfter(() => pool.query(`DELETE FROM users WHERE id = $1`, [userId]));
    assert.deepEqual(
      changes.map((c) => c?.kind).sort(),
      ['connection', 'key', 'user'],
    );
  });

  it('says "drop everything" when more changed at once than one read carries', async () => {
    const changes = await changesAfter(() =>
      pool.query(`INSERT INTO cache_changes (kind, user_id, subject) SELECT 'key', gen_random_uuid(), g::text FROM generate_series(1, 5000) g`),
    );
    assert.deepEqual(changes, [undefined]);
  });

  it('is trusted only while read within the bound, and only for copies read since it started', () => {
    const ttl = 5_000;
    const keep = 600_000;
    const now = 1_000_000;
    const healthy = { appliedUntil: now - 800, coveredFrom: now - 100_000 };
    assert.equal(stillTrusted(undefined, now - 4_000, now, ttl, keep), true, 'within the TTL, feed or not');
    assert.equal(stillTrusted(undefined, now - 6_000, now, ttl, keep), false);
    assert.equal(stillTrusted(healthy, now - 60_000, now, ttl, keep), true, 'a minute old, feed read 0.8 s ago');
    assert.equal(stillTrusted(healthy, now - 700_000, now, ttl, keep), false, 'past the keep time');
    assert.equal(stillTrusted(healthy, now - 200_000, now, ttl, keep), false, 'read before the feed started');
    assert.equal(stillTrusted({ ...healthy, appliedUntil: now - 6_000 }, now - 60_000, now, ttl, keep), false, 'feed not read for 6 s');
  });
});
