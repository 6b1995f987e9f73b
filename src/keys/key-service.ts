import { createHash } from 'node:crypto';
import bcrypt from 'bcrypt';
import type { Queryable } from '../db/pool.js';
import { generateKey, parseKey } from './key-format.js';
import { findActiveKeyForVerification, insertKey, touchLastUsed, type ApiKeyRecord } from './key-store.js';
import type { Scope } from './scopes.js';

/** bcrypt cost 10 ≈ 50-80 ms per hash here: slow for a guesser, paid once per key per cache TTL. */
const BCRYPT_COST = 10;
/** How long a verified key is trusted without going back to the database. Bounds how long a
 *  revocation made on another instance can take to be seen here. */
const VERIFIED_TTL_MS = 5_000;
const VERIFIED_MAX_ENTRIES = 10_000;
/** last_used_at is informational; one write per key per minute is plenty. */
const LAST_USED_DEBOUNCE_MS = 60_000;

export interface MintedKey {
  /** The full secret. Returned exactly once, never stored. */
  apiKey: string;
  record: ApiKeyRecord;
}

export interface KeyService {
  mint(db: Queryable, input: { userId: string; name: string | null; scopes: readonly Scope[]; expiresAt: Date | null }): Promise<MintedKey>;
  /** The key's record when `presented` is a working key, else undefined. */
  verify(presented: string): Promise<ApiKeyRecord | undefined>;
  /** Forget cached verifications of a key (after revoke or rotate). */
  forget(keyId: string): void;
}

export function createKeyService(db: Queryable): KeyService {
  // Keyed by SHA-256 of the presented key: the cache must never hold usable secrets.
  const verified = new Map<string, { record: ApiKeyRecord; until: number }>();
  const lastTouched = new Map<string, number>();

  function remember(digest: string, record: ApiKeyRecord): void {
    if (verified.size >= VERIFIED_MAX_ENTRIES) {
      // Map iteration order is insertion order: drop the oldest entry.
      const oldest = verified.keys().next().value;
      if (oldest !== undefined) verified.delete(oldest);
    }
    const ttlEnd = Date.now() + VERIFIED_TTL_MS;
    const until = record.expiresAt ? Math.min(ttlEnd, record.expiresAt.getTime()) : ttlEnd;
    verified.set(digest, { record, until });
  }

  function touch(record: ApiKeyRecord): void {
    const now = Date.now();
    if ((lastTouched.get(record.id) ?? 0) + LAST_USED_DEBOUNCE_MS > now) return;
    lastTouched.set(record.id, now);
    // Fire and forget: a failed bookkeeping write must not fail the request it rides on.
    touchLastUsed(db, record.id).catch(() => lastTouched.delete(record.id));
  }

  return {
    async mint(tx, input) {
      const { key, publicId } = generateKey();
      const secretHash = await bcrypt.hash(key, BCRYPT_COST);
      const record = await insertKey(tx, { ...input, publicId, secretHash });
      return { apiKey: key, record };
    },

    async verify(presented) {
      const parsed = parseKey(presented);
      if (!parsed) return undefined;
      const digest = createHash('sha256').update(presented).digest('base64url');
      const cached = verified.get(digest);
      if (cached && cached.until > Date.now()) {
        touch(cached.record);
        return cached.record;
      }
      verified.delete(digest);
      const found = await findActiveKeyForVerification(db, parsed.publicId);
      // An unknown or dead public id costs no bcrypt at all.
      if (!found || !(await bcrypt.compare(presented, found.secretHash))) return undefined;
      remember(digest, found.record);
      touch(found.record);
      return found.record;
    },

    forget(keyId) {
      for (const [digest, entry] of verified) if (entry.record.id === keyId) verified.delete(digest);
    },
  };
}
