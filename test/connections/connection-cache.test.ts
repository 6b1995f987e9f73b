import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createConnectionCache, type ConnectionCache } from '../../src/connections/connection-cache.js';
import { createConnectionRepository, type ConnectionRepository } from '../../src/connections/connection-repository.js';
import type { Queryable } from '../../src/db/pool.js';
import { insertUser } from '../../src/users/user-store.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * The connection rows tool calls read are cached for a few seconds. The cache must never serve a
 * row older than a change this process made, even when the change lands while a read is in flight.
 */
describe('the connection cache', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let queries = 0;
  /** While set, query results are held back until it resolves: a read "in flight" across a change. */
  let hold: Promise<void> | undefined;
  const counted: Queryable = {
    query: (async (...args: Parameters<pg.Pool['query']>) => {
      queries += 1;
      const result = await (pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
      if (hold) await hold;
      return result;
    }) as Queryable['query'],
  };
  let cache: ConnectionCache;
  let reader: ConnectionRepository;

  before(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url });
    cache = createConnectionCache(counted, 60_000);
    reader = createConnectionRepository(cache);
  });
  after(async () => {
    reader.close();
    await pool.end();
    await db.drop();
  });

  async function connectedUser(token: string): Promise<string> {
    const { id } = await insertUser(pool, 'cache test');
    await reader.upsert(pool, { userId: id, providerId: 'acme', accountId: 'a', scopes: [], accessTokenEnc: token, refreshTokenEnc: null, issuedAt: new Date(), expiresAt: null });
    return id;
  }

  const refresh = (userId: string, token: string) =>
    reader.updateTokens(pool, userId, 'acme', { accessTokenEnc: token, refreshTokenEnc: undefined, issuedAt: new Date(), expiresAt: null });

  it('a warm read costs no query; a change made here is seen by the next read', async () => {
    const userId = await connectedUser('v1');
    assert.equal((await reader.find(userId, 'acme'))?.accessTokenEnc, 'v1');
    const before = queries;
    assert.equal((await reader.find(userId, 'acme'))?.accessTokenEnc, 'v1');
    assert.equal(queries, before, 'served from memory');
    await refresh(userId, 'v2');
    assert.equal((await reader.find(userId, 'acme'))?.accessTokenEnc, 'v2');
    assert.equal(queries, before + 1);
  });

  it('a read in flight across a change is not cached, so the row it fetched is never served again', async () => {
    const userId = await connectedUser('old');
    let release!: () => void;
    hold = new Promise((r) => (release = r));
    const inFlight = reader.find(userId, 'acme');
    await new Promise((r) => setTimeout(r, 50)); // the SELECT has run and read "old"
    await refresh(userId, 'new');
    hold = undefined;
    release();
    assert.equal((await inFlight)?.accessTokenEnc, 'old', 'the caller that started before the change gets what it read');
    assert.equal((await reader.find(userId, 'acme'))?.accessTokenEnc, 'new');
  });

  it('however many other rows change meanwhile', async () => {
    const userId = await connectedUser('old');
    // Bookkeeping of changes must stay bounded (many users connect, refresh and disconnect)
    // without ever losing the change that matters to a read in flight.
    const othersChange = (): void => {
      for (let i = 0; i < 20_000; i++) cache.forget(`someone-${i}`, 'acme');
    };
    othersChange();
    let release!: () => void;
    hold = new Promise((r) => (release = r));
    const inFlight = reader.find(userId, 'acme');
    await new Promise((r) => setTimeout(r, 50));
    await refresh(userId, 'new');
    othersChange();
    hold = undefined;
    release();
    await inFlight;
    assert.equal((await reader.find(userId, 'acme'))?.accessTokenEnc, 'new');
  });
});
