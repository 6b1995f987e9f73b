import type { Pool, Transaction } from '../db/pool.js';
import type { ConnectionCache } from './connection-cache.js';
import { deleteConnection, lockConnection, markReauthRequired, updateTokens, upsertConnection, type ConnectionRow, type NewTokens } from './connection-store.js';

/**
 * Where a connection write runs: the pool (the statement commits on its own) or a transaction
 * from withTransaction (it commits with the transaction, or not at all).
 */
export type ConnectionWriter = Pool | Transaction;

/** What a new connection stores (upsertConnection's input). */
export type NewConnection = Parameters<typeof upsertConnection>[1];

/**
 * The connections of one app: every write of a connection row goes through here, and so does
 * the tool calls' cached read, so no writer can forget to drop the cached copy of a row it
 * changed. `buildApp` creates one per app, over a cache of its own: two apps in one process
 * (tests start several) keep separate caches, as two instances would.
 *
 * A write on the pool drops the cached row as soon as its statement returns; a write inside a
 * transaction drops it once the transaction has committed, and leaves it alone on rollback.
 * Dropping it before the commit would let a read on another connection fetch the row as it was
 * before the commit and cache it again. A read already in flight when the row is dropped is
 * not cached either (connection-cache.ts), so no read that overlapped the write outlives it.
 *
 * Other instances (and the `reencrypt` command, and SQL run by hand) cannot reach this cache:
 * their changes arrive through the change feed (db/change-feed.ts, written by a trigger on the
 * table), and are seen within CONNECTION_CACHE_TTL_MS (5 s, the bound on a revocation) even when
 * the feed cannot be read.
 */
export interface ConnectionRepository {
  /** The connection a tool call needs, from memory when it was read moments ago (connection-cache.ts). */
  find(userId: string, providerId: string): Promise<ConnectionRow | undefined>;
  /**
   * Reads the connection and locks its row until `tx` ends (the refresh lock; see lockConnection).
   * The row read under the lock is the newest committed one, so a cached copy here may be older
   * (another instance refreshed or disconnected meanwhile): it is dropped, and the next read
   * fetches the row again rather than serving the old tokens for the rest of its TTL.
   */
  lock(tx: Transaction, userId: string, providerId: string, waitMs: number): Promise<ConnectionRow | undefined>;
  /** Saves a fresh connection, replacing any earlier one of the same user and provider. */
  upsert(db: ConnectionWriter, c: NewConnection): Promise<ConnectionRow>;
  /** Stores refreshed tokens (see connection-store.ts). */
  updateTokens(db: ConnectionWriter, userId: string, providerId: string, t: NewTokens): Promise<ConnectionRow | undefined>;
  /** The upstream refused the refresh token: keep the row but stop using it. */
  markReauthRequired(db: ConnectionWriter, userId: string, providerId: string): Promise<void>;
  /** Deletes and returns the connection, so its tokens can still be revoked upstream. */
  delete(db: ConnectionWriter, userId: string, providerId: string): Promise<ConnectionRow | undefined>;
  /** The row changed elsewhere (the change feed), or with `undefined`, too many rows to say which. */
  changedElsewhere(row: { userId: string; providerId: string } | undefined): void;
  /** Lookups since start and the entries held now (for /metrics). */
  readonly stats: { readonly hits: number; readonly misses: number; readonly size: number };
  /** Drops the cache (when the app stops). */
  close(): void;
}

/** `cache` is this repository's alone: nothing else may forget its entries or write the rows it holds. */
export function createConnectionRepository(cache: ConnectionCache): ConnectionRepository {
  /** Runs one write, then drops the cached row once the write is visible to every reader. */
  async function write<T>(db: ConnectionWriter, userId: string, providerId: string, statement: () => Promise<T>): Promise<T> {
    const forget = (): void => cache.forget(userId, providerId);
    if ('afterCommit' in db) {
      // Registered before the statement: if it fails the transaction rolls back and nothing runs.
      db.afterCommit(forget);
      return statement();
    }
    try {
      return await statement();
    } finally {
      // On the pool even a failed statement is dropped for: whether it changed the row is unknown.
      forget();
    }
  }

  return {
    find: (userId, providerId) => cache.find(userId, providerId),
    async lock(tx, userId, providerId, waitMs) {
      const row = await lockConnection(tx, userId, providerId, waitMs);
      // Dropped at once, not after the commit: this transaction has written nothing yet, and a
      // write it makes later drops the row again once it has committed.
      cache.forget(userId, providerId);
      return row;
    },
    upsert: (db, c) => write(db, c.userId, c.providerId, () => upsertConnection(db, c)),
    updateTokens: (db, userId, providerId, t) => write(db, userId, providerId, () => updateTokens(db, userId, providerId, t)),
    markReauthRequired: (db, userId, providerId) => write(db, userId, providerId, () => markReauthRequired(db, userId, providerId)),
    delete: (db, userId, providerId) => write(db, userId, providerId, () => deleteConnection(db, userId, providerId)),
    changedElsewhere: (row) => (row ? cache.forget(row.userId, row.providerId) : cache.clear()),
    stats: cache.stats,
    close: () => cache.clear(),
  };
}
