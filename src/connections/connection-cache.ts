import type { Queryable } from '../db/pool.js';
import { onConnectionChange } from './connection-changes.js';
import { findConnection, type ConnectionRow } from './connection-store.js';

/**
 * How long a connection row read for a tool call is reused without asking the database again.
 * It bounds how long a change made by another instance (a disconnect, a reconnect) can go
 * unseen here: the same bound as a revoked API key (5 s).
 */
export const CONNECTION_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

/**
 * Reads the connection a tool call needs, from memory when it was read moments ago, so a warm
 * tool call costs no database round trip at all. Rows are kept exactly as stored: tokens stay
 * encrypted in the cache and are decrypted only for the call that uses them. Only usable rows
 * are kept (not "needs re-authorization", not absent), so a user who reconnects is never told
 * from memory that they must.
 */
export interface ConnectionReader {
  find(userId: string, providerId: string): Promise<ConnectionRow | undefined>;
  /** Drops one entry (this process changed the row). */
  forget(userId: string, providerId: string): void;
  /** Stops listening for changes (when the app stops). */
  close(): void;
}

export function createConnectionReader(db: Queryable, ttlMs = CONNECTION_CACHE_TTL_MS): ConnectionReader {
  const entries = new Map<string, { row: ConnectionRow; until: number }>();
  // Bumped on every change, so a read that was in flight across a change never stores its older row.
  const generations = new Map<string, number>();
  const keyOf = (userId: string, providerId: string): string => `${userId}\u0000${providerId}`;

  const reader: ConnectionReader = {
    async find(userId, providerId) {
      const key = keyOf(userId, providerId);
      const cached = entries.get(key);
      if (cached && cached.until > Date.now()) return cached.row;
      entries.delete(key);
      const generation = generations.get(key) ?? 0;
      const row = await findConnection(db, userId, providerId);
      if (row && !row.reauthRequiredAt && (generations.get(key) ?? 0) === generation) {
        if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
        entries.set(key, { row, until: Date.now() + ttlMs });
      }
      return row;
    },
    forget(userId, providerId) {
      const key = keyOf(userId, providerId);
      entries.delete(key);
      generations.set(key, (generations.get(key) ?? 0) + 1);
      // Generations only matter while a read is in flight; keep the map from growing forever.
      if (generations.size > MAX_ENTRIES) generations.clear();
    },
    close() {
      unsubscribe();
      entries.clear();
    },
  };
  const unsubscribe = onConnectionChange((userId, providerId) => reader.forget(userId, providerId));
  return reader;
}
