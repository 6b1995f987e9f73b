import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPool, type Pool } from '../../src/db/pool.js';
import { formatKey, generateKey } from '../../src/keys/key-format.js';
import { createKeyService, STATUS_TTL_MS, type KeyService } from '../../src/keys/key-service.js';
import { ALL_SCOPES } from '../../src/keys/scopes.js';
import { sleep } from '../support/api-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** Counts the statements a piece of work sends to the database. */
function countingQueries(pool: Pool): { readonly count: number; stop(): void } {
  const original = pool.query.bind(pool);
  const counter = { count: 0, stop: () => void (pool.query = original) };
  pool.query = ((...args: Parameters<Pool['query']>) => {
    counter.count += 1;
    return (original as (...a: unknown[]) => unknown)(...args);
  }) as Pool['query'];
  return counter;
}

describe('key verification: bcrypt once, then memory', () => {
  let db: TestDatabase;
  let pool: Pool;
  let keys: KeyService;
  let userId: string;

  before(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url);
    keys = createKeyService(pool);
    userId = (await pool.query<{ id: string }>(`INSERT INTO users (name) VALUES ('v') RETURNING id`)).rows[0]?.id as string;
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  const mint = async (expiresAt: Date | null = null) => (await keys.mint(pool, { userId, name: null, scopes: ALL_SCOPES, expiresAt })).apiKey;

  it('the first check costs one lookup and one bcrypt; later ones neither', async () => {
    const key = await mint();
    const compares = keys.bcrypt.compares;
    const queries = countingQueries(pool);
    try {
      assert.equal((await keys.verify(key))?.prefix, key.slice(0, 15));
      assert.equal(keys.bcrypt.compares, compares + 1);
      assert.equal(queries.count, 1);
      for (let i = 0; i < 100; i++) assert.ok(keys.peek(key), 'warm: answered from memory');
      for (let i = 0; i < 20; i++) assert.ok(await keys.verify(key));
      assert.equal(keys.bcrypt.compares, compares + 1, 'no more bcrypt');
      assert.equal(queries.count, 1, 'no more queries');
    } finally {
      queries.stop();
    }
  });

  it('concurrent first uses of one key share a single lookup and bcrypt', async () => {
    const key = await mint();
    const compares = keys.bcrypt.compares;
    const results = await Promise.all(Array.from({ length: 25 }, () => keys.verify(key)));
    assert.ok(results.every((r) => r !== undefined));
    assert.equal(keys.bcrypt.compares, compares + 1);
  });

  it('malformed keys cost nothing; an unknown public id costs one lookup and no bcrypt', async () => {
    const key = await mint();
    const compares = keys.bcrypt.compares;
    const queries = countingQueries(pool);
    try {
      const typo = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
      for (const bad of ['sk_nope', typo, `${key}x`]) assert.equal(await keys.verify(bad), undefined);
      assert.equal(queries.count, 0, 'checksum and shape are checked before the database');
      assert.equal(await keys.verify(generateKey().key), undefined);
      assert.equal(queries.count, 1);
      assert.equal(keys.bcrypt.compares, compares, 'no bcrypt for an unknown id');
      // A right id with a wrong secret does cost a bcrypt: that is what the per-address limit is for.
      assert.equal(await keys.verify(formatKey(key.split('_')[1] as string, 'A'.repeat(32))), undefined);
      assert.equal(keys.bcrypt.compares, compares + 1);
    } finally {
      queries.stop();
    }
  });

  it('a stale status is re-read without bcrypt, and a revoked key is then refused', async () => {
    const key = await mint();
    const record = await keys.verify(key);
    assert.ok(record);
    await pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [record.id]);
    assert.ok(keys.peek(key), 'within the status TTL the cached status is trusted (no sync runs here)');
    await sleep(STATUS_TTL_MS + 100);
    assert.equal(keys.peek(key), undefined, 'a stale status is never trusted');
    const compares = keys.bcrypt.compares;
    const queries = countingQueries(pool);
    try {
      const results = await Promise.all(Array.from({ length: 10 }, () => keys.verify(key)));
      assert.deepEqual(new Set(results), new Set([undefined]));
      assert.equal(queries.count, 1, 'concurrent re-checks share one read');
    } finally {
      queries.stop();
    }
    assert.equal(keys.bcrypt.compares, compares, 're-checking a proven key needs no bcrypt');
  });

  it('forget() makes the next use re-check at once', async () => {
    const key = await mint();
    const record = await keys.verify(key);
    assert.ok(record);
    await pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [record.id]);
    keys.forget(record.id);
    assert.equal(keys.peek(key), undefined);
    assert.equal(await keys.verify(key), undefined);
  });

  it('a status read that started before forget() cannot bring a revoked key back', async () => {
    const key = await mint();
    const record = await keys.verify(key);
    assert.ok(record);
    const read = keys.beginStatusRead(); // e.g. a usage sync in flight…
    keys.forget(record.id); // …when the key is revoked here
    keys.refreshed(read, [{ keyId: record.id, record }]); // …and its (older) answer arrives
    assert.equal(keys.peek(key), undefined);
  });

  it('expiry is checked on every use, to the millisecond', async () => {
    const key = await mint(new Date(Date.now() + 1_000));
    assert.ok(await keys.verify(key));
    assert.ok(keys.peek(key));
    await sleep(1_050);
    assert.equal(keys.peek(key), undefined);
    assert.equal(await keys.verify(key), undefined);
  });

  it('a disabled user’s keys stop working', async () => {
    const other = (await pool.query<{ id: string }>(`INSERT INTO users (name) VALUES ('d') RETURNING id`)).rows[0]?.id as string;
    const { apiKey } = await keys.mint(pool, { userId: other, name: null, scopes: ALL_SCOPES, expiresAt: null });
    const record = await keys.verify(apiKey);
    assert.ok(record);
    await pool.query('UPDATE users SET disabled_at = now() WHERE id = $1', [other]);
    keys.forget(record.id);
    assert.equal(await keys.verify(apiKey), undefined);
  });
});
