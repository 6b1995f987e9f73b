import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPool, type Pool } from '../../src/db/pool.js';
import { createKeyService } from '../../src/keys/key-service.js';
import { entriesWithin } from '../../src/memory-budget.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const KEYS = 30;

describe('the key-proof cache is sized by memory, not by a fixed 10,000', () => {
  let db: TestDatabase;
  let pool: Pool;
  const keys: string[] = [];

  before(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, 4);
    const minter = createKeyService(pool);
    for (let i = 0; i < KEYS; i++) {
      const { rows } = await pool.query<{ id: string }>('INSERT INTO users (name) VALUES ($1) RETURNING id', [`u${i}`]);
      const minted = await minter.mint(pool, { userId: (rows[0] as { id: string }).id, name: null, scopes: ['tools:read'], expiresAt: null });
      keys.push(minted.apiKey);
    }
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('holds far more than 10,000 proofs on this machine, and fewer on a small heap', () => {
    assert.ok(createKeyService(pool).cache.capacity > 10_000, String(createKeyService(pool).cache.capacity));
    // A 256 MB heap (a small VM) gets about 10,000; a 4 GB one about 160,000.
    const small = entriesWithin(0.05, 1_300, 256 * 1024 * 1024);
    assert.ok(small > 9_000 && small < 11_000, String(small));
    assert.ok(entriesWithin(0.05, 1_300, 4 * 1024 ** 3) > 150_000);
  });

  it('round-robin over more keys than it holds pays bcrypt again on every pass; within capacity never', async () => {
    /** Two passes over every key, in order; bcrypt compares of the second pass. */
    const secondPass = async (maxProofs: number): Promise<number> => {
      const service = createKeyService(pool, { maxProofs });
      for (const key of keys) assert.ok(await service.verify(key));
      const before = service.bcrypt.compares;
      for (const key of keys) assert.ok(await service.verify(key));
      return service.bcrypt.compares - before;
    };
    assert.equal(await secondPass(KEYS - 10), KEYS, 'the cliff: an LRU smaller than the round-robin set misses every time');
    assert.equal(await secondPass(KEYS), 0);
  });
});
