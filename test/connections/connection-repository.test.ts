import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createConnectionCache } from '../../src/connections/connection-cache.js';
import { createConnectionRepository, type ConnectionRepository, type ConnectionWriter } from '../../src/connections/connection-repository.js';
import { findConnection } from '../../src/connections/connection-store.js';
import { withTransaction, type Queryable } from '../../src/db/pool.js';
import { insertUser } from '../../src/users/user-store.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Issue 17: connection writes go through the app's repository, which drops its cached copy of
 * a row once the write has committed: never before (a concurrent reader would cache the old row
 * again), never on rollback (the row did not change), and never in another app's cache.
 */
describe('the connection repository', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let queries = 0;
  /** While set, the cache's reads are held back after they ran: a read "in flight" across a commit. */
  let hold: Promise<void> | undefined;
  const counted: Queryable = {
    query: (async (...args: Parameters<pg.Pool['query']>) => {
      queries += 1;
      const result = await (pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
      if (hold) await hold;
      return result;
    }) as Queryable['query'],
  };
  let repo: ConnectionRepository;

  before(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url });
    // A TTL far beyond the test: whatever a read sees after a write, it owes to the repository, not to expiry.
    repo = createConnectionRepository(createConnectionCache(counted, 600_000));
  });
  after(async () => {
    repo.close();
    await pool.end();
    await db.drop();
  });

  async function connectedUser(token: string): Promise<string> {
    const { id } = await insertUser(pool, 'repository test');
    await repo.upsert(pool, { userId: id, providerId: 'acme', accountId: 'a', scopes: [], accessTokenEnc: token, refreshTokenEnc: null, issuedAt: new Date(), expiresAt: null });
    return id;
  }
  const refresh = (on: ConnectionWriter, userId: string, token: string) =>
    repo.updateTokens(on, userId, 'acme', { accessTokenEnc: token, refreshTokenEnc: undefined, issuedAt: new Date(), expiresAt: null });
  const cachedToken = async (userId: string, r = repo) => (await r.find(userId, 'acme'))?.accessTokenEnc;
  const storedToken = async (userId: string) => (await findConnection(pool, userId, 'acme'))?.accessTokenEnc;
  /** A query on another connection, so the pool has answered whatever was sent before. */
  const settle = () => new Promise((r) => setTimeout(r, 50));

  it('a write in a transaction that rolls back leaves the cached row as it was', async () => {
    const userId = await connectedUser('v1');
    assert.equal(await cachedToken(userId), 'v1');
    await assert.rejects(
      withTransaction(pool, async (tx) => {
        await refresh(tx, userId, 'v2');
        throw new Error('the upstream answer could not be used');
      }),
      /could not be used/,
    );
    assert.equal(await storedToken(userId), 'v1', 'rolled back');
    const before = queries;
    assert.equal(await cachedToken(userId), 'v1');
    assert.equal(queries, before, 'still served from memory: the rollback dropped nothing');
  });

  it('after the commit the next read sees the new row at once; before it, the committed one', async () => {
    const userId = await connectedUser('v1');
    assert.equal(await cachedToken(userId), 'v1');
    await withTransaction(pool, async (tx) => {
      await refresh(tx, userId, 'v2');
      const before = queries;
      assert.equal(await cachedToken(userId), 'v1', 'uncommitted: readers still get the committed row');
      assert.equal(queries, before, 'and the entry was not dropped before the commit');
    });
    assert.equal(await cachedToken(userId), 'v2', 'no TTL to wait for');
  });

  it('a reader that cached the old row during an uncommitted write leaves no stale entry after the commit', async () => {
    const userId = await connectedUser('old');
    await withTransaction(pool, async (tx) => {
      await refresh(tx, userId, 'new');
      // Nothing was cached; a read now fetches the committed row and caches it.
      assert.equal(await cachedToken(userId), 'old');
      const before = queries;
      assert.equal(await cachedToken(userId), 'old');
      assert.equal(queries, before, 'cached');
    });
    assert.equal(await cachedToken(userId), 'new');
  });

  it('a read in flight across the commit is not cached, though it fetched the row before the commit', async () => {
    const userId = await connectedUser('old');
    let release!: () => void;
    let inFlight!: Promise<string | undefined>;
    await withTransaction(pool, async (tx) => {
      await refresh(tx, userId, 'new');
      hold = new Promise((r) => (release = r));
      inFlight = cachedToken(userId);
      await settle(); // its SELECT has run and read "old"
    });
    hold = undefined;
    release();
    assert.equal(await inFlight, 'old', 'the caller that read before the commit gets what it read');
    assert.equal(await cachedToken(userId), 'new');
  });

  it('a write on the pool is seen by the next read; a delete too', async () => {
    const userId = await connectedUser('v1');
    assert.equal(await cachedToken(userId), 'v1');
    await refresh(pool, userId, 'v2');
    assert.equal(await cachedToken(userId), 'v2');
    assert.equal((await repo.delete(pool, userId, 'acme'))?.accessTokenEnc, 'v2');
    assert.equal(await cachedToken(userId), undefined);
  });

  it('two repositories (two apps in one process) do not share invalidations', async () => {
    const other = createConnectionRepository(createConnectionCache(pool, 600_000));
    try {
      const userId = await connectedUser('v1');
      assert.equal(await cachedToken(userId), 'v1');
      assert.equal(await cachedToken(userId, other), 'v1');
      await withTransaction(pool, (tx) => refresh(tx, userId, 'v2'));
      assert.equal(await cachedToken(userId), 'v2', 'the writer’s own cache follows at once');
      // Like another instance, the other app sees the change only once its entry expires (5 s in production).
      assert.equal(await cachedToken(userId, other), 'v1');
      assert.equal(other.stats.hits, 1, 'served from its own memory');
    } finally {
      other.close();
    }
  });

  it('the refresh lock drops an older cached copy: another instance’s refresh is not hidden for the rest of the TTL', async () => {
    const other = createConnectionRepository(createConnectionCache(pool, 600_000));
    const store = (r: ConnectionRepository, userId: string, token: string) =>
      r.updateTokens(pool, userId, 'acme', { accessTokenEnc: token, refreshTokenEnc: undefined, issuedAt: new Date(), expiresAt: null });
    try {
      const userId = await connectedUser('expired');
      assert.equal(await cachedToken(userId), 'expired');
      await store(other, userId, 'refreshed-elsewhere'); // another instance refreshed
      assert.equal(await cachedToken(userId), 'expired', 'this cache does not know yet');
      await withTransaction(pool, async (tx) => {
        // What access-tokens.ts does on finding the token bad: lock the row, and find someone else's token.
        assert.equal((await repo.lock(tx, userId, 'acme', 0))?.accessTokenEnc, 'refreshed-elsewhere');
      });
      assert.equal(await cachedToken(userId), 'refreshed-elsewhere', 'the next call does not start from the expired token again');

      assert.equal(await cachedToken(userId, other), 'refreshed-elsewhere');
      await store(repo, userId, 'newest');
      assert.equal(await cachedToken(userId, other), 'refreshed-elsewhere', 'the other instance holds its copy');
      await assert.rejects(
        withTransaction(pool, async (tx) => {
          assert.equal((await other.lock(tx, userId, 'acme', 0))?.accessTokenEnc, 'newest');
          throw new Error('the token request failed');
        }),
        /token request failed/,
      );
      assert.equal(await cachedToken(userId, other), 'newest', 'dropped though the refresh rolled back: the lock read it, nothing was written');
    } finally {
      other.close();
    }
  });
});
