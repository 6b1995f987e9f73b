import { stillTrusted, type ChangeFeed } from '../db/change-feed.js';
import type { Queryable } from '../db/pool.js';
import { entriesWithin } from '../memory-budget.js';
import { findConnection, type ConnectionRow } from './connection-store.js';

/**
 * How long a change made by another instance (a disconnect, a reconnect, refreshed tokens) can go
 * unseen here: the same bound as a revoked API key (5 s). A row is reused this long after it was
 * read, or for as long as the change feed (db/change-feed.ts) has been read this recently: the
 * feed drops the rows that changed, so with it a row is read again only after KEEP_MS.
 */
export const CONNECTION_CACHE_TTL_MS = 5_000;
/** With the change feed healthy, a row is still read again after this (and an idle user's goes). */
const KEEP_MS = 10 * 60_000;
/**
 * A cached row is ~1.8 KB of heap (measured). 5 % of the heap limit: ~120,000 rows on a 4 GB heap,
 * ~7,000 on 256 MB; past that the oldest rows go first.
 */
const HEAP_SHARE = 0.05;
const BYTES_PER_ENTRY = 1_800;

/**
 * Reads the connection a tool call needs, from memory when it was read moments ago, so a warm
 * tool call costs no database round trip at all. Rows are kept exactly as stored: tokens stay
 * encrypted in the cache and are decrypted only for the call that uses them. Only usable rows
 * are kept (not "needs re-authorization", not absent), so a user who reconnects is never told
 * from memory that they must.
 *
 * Only the connection repository (connection-repository.ts) creates one: it is the one writer of
 * connection rows, so it is the one that knows when an entry must be forgotten.
 */
export interface ConnectionCache {
  find(userId: string, providerId: string): Promise<ConnectionRow | undefined>;
  /** Drops one entry, and keeps a read in flight for it from being cached (the row changed). */
  forget(userId: string, providerId: string): void;
  /** Drops every entry, and keeps reads in flight from being cached (the app stops, or too much changed at once). */
  clear(): void;
  /** Lookups since start and the entries held now (for /metrics). */
  readonly stats: { readonly hits: number; readonly misses: number; readonly size: number };
}

export function createConnectionCache(
  db: Queryable,
  ttlMs = CONNECTION_CACHE_TTL_MS,
  options: { maxEntries?: number; feed?: ChangeFeed | undefined } = {},
): ConnectionCache {
  const maxEntries = options.maxEntries ?? entriesWithin(HEAP_SHARE, BYTES_PER_ENTRY);
  const entries = new Map<string, { row: ConnectionRow; readAt: number }>();
  // Reads in flight per key, marked when the row changes meanwhile: such a read may have fetched
  // the row as it was before the change, so it must not be cached. Kept only while reads are in
  // flight, so it is bounded by concurrency rather than by every key ever changed.
  const inFlight = new Map<string, { reads: number; changed: boolean }>();
  const keyOf = (userId: string, providerId: string): string => `${userId}\u0000${providerId}`;
  const lookups = { hits: 0, misses: 0 };

  return {
    async find(userId, providerId) {
      const key = keyOf(userId, providerId);
      const cached = entries.get(key);
      if (cached && stillTrusted(options.feed, cached.readAt, Date.now(), ttlMs, KEEP_MS)) {
        lookups.hits += 1;
        return cached.row;
      }
      lookups.misses += 1;
      entries.delete(key);
      let flight = inFlight.get(key);
      if (!flight) inFlight.set(key, (flight = { reads: 0, changed: false }));
      flight.reads += 1;
      const readAt = Date.now();
      let row: ConnectionRow | undefined;
      try {
        row = await findConnection(db, userId, providerId);
      } finally {
        flight.reads -= 1;
        if (flight.reads === 0) inFlight.delete(key);
      }
      if (row && !row.reauthRequiredAt && !flight.changed) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        entries.set(key, { row, readAt });
      }
      return row;
    },
    forget(userId, providerId) {
      const key = keyOf(userId, providerId);
      entries.delete(key);
      const flight = inFlight.get(key);
      if (flight) flight.changed = true;
    },
    clear() {
      entries.clear();
      for (const flight of inFlight.values()) flight.changed = true;
    },
    stats: {
      get hits() {
        return lookups.hits;
      },
      get misses() {
        return lookups.misses;
      },
      get size() {
        return entries.size;
      },
    },
  };
}
