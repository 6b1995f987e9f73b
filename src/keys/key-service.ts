import { createHash } from 'node:crypto';
import { stillTrusted, type ChangeFeed } from '../db/change-feed.js';
import type { Queryable } from '../db/pool.js';
import { entriesWithin } from '../memory-budget.js';
import { createBcryptGate, type BcryptGate } from './bcrypt-gate.js';
import { generateKey, parseKey } from './key-format.js';
import { findActiveKeyById, findActiveKeyForVerification, insertKey, type ApiKeyRecord, type RateLimitOverrides } from './key-store.js';
import type { Scope } from './scopes.js';

/**
 * The bound on a revocation made elsewhere reaching this instance: a key's status (revoked?
 * expired? owner disabled? scopes, limits) is trusted this long after it was read, or for as long
 * as the change feed (db/change-feed.ts) has been read this recently, which drops the statuses
 * that changed. A status trusted by neither is re-read on the request path, with no bcrypt.
 */
export const STATUS_TTL_MS = 5_000;
/**
 * How long a bcrypt proof ("this presented key is key X") is kept after its last use. A key's
 * hash never changes (rotation mints a new key), so the proof cannot go wrong; memory is bounded
 * by the entry budget below (least recently used dropped), not by this. It was 10 minutes: then an
 * assistant calling a tool every quarter of an hour paid a bcrypt compare (~50 ms of CPU) on every
 * call, and a cold instance warming 20,000 keys (npm run bench:scale) lost its first proofs before
 * the last were made. Half a day covers a working day's gaps between calls.
 */
const PROOF_TTL_MS = 12 * 60 * 60_000;
/** A status is re-read after this even with the change feed healthy; an idle key's is dropped after it. */
const STATUS_KEEP_MS = 10 * 60_000;
/**
 * A proof with its key's status record is ~1.3 KB of heap (measured: ~640 B per proof entry, about
 * as much per status). 5 % of the heap limit: ~160,000 keys on a 4 GB heap, ~10,000 on 256 MB.
 */
const PROOF_HEAP_SHARE = 0.05;
const BYTES_PER_PROOF = 1_300;
/**
 * A proof moves to the most recent end of the LRU at most this often. It was a second: with 20,000
 * keys each called every few seconds, that was a Map delete + insert on nearly every call, and the
 * Map's rehashing of a 20,000-entry table was steady old-generation garbage. Eviction order to the
 * minute is all a 12 h lifetime needs.
 */
const PROOF_TOUCH_MS = 60_000;
/** Forget marks only matter to reads in flight; reads never take this long. */
const FORGET_MARK_TTL_MS = 60_000;

export interface MintedKey {
  /** The full secret. Returned exactly once, never stored. */
  apiKey: string;
  record: ApiKeyRecord;
}

export interface MintInput {
  userId: string;
  name: string | null;
  scopes: readonly Scope[];
  expiresAt: Date | null;
  rateLimit?: RateLimitOverrides | undefined;
}

/** A read of key statuses, started at `startedAt`: results are applied only if no forget() came after. */
export interface StatusRead {
  readonly startedAt: number;
  readonly epoch: number;
}

/** A new secret and its bcrypt hash, made before any transaction (see {@link KeyService.prepare}). */
export interface PreparedKey {
  readonly key: string;
  readonly publicId: string;
  readonly secretHash: string;
}

/**
 * Asked before a check that costs a lookup and possibly a bcrypt compare starts (not for one
 * already running for the same presented key, which is shared): may throw to refuse it, and
 * returns what to call with the check's outcome. The per-address refused-key limit lives behind it.
 */
export type ColdCheckAdmission = (publicId: string) => (outcome: 'accepted' | 'refused' | 'failed') => void;

export interface KeyService {
  /**
   * Generates a secret and hashes it. bcrypt takes ~50–80 ms: doing it before the transaction
   * that stores the key keeps a pool connection and the user's row lock from being held that
   * long (issue 18, item 5).
   */
  prepare(): Promise<PreparedKey>;
  /** Stores a key (prepared before, or prepared now when not given). */
  mint(db: Queryable, input: MintInput, prepared?: PreparedKey): Promise<MintedKey>;
  /** Warm path, no I/O at all: the key's record when it is proven and its status is fresh, else undefined. */
  peek(presented: string): ApiKeyRecord | undefined;
  /**
   * The key's record when `presented` is a working key, else undefined. Costs at most one query
   * and one bcrypt; `admit` is asked before that cost is taken on (see {@link ColdCheckAdmission}).
   */
  verify(presented: string, admit?: ColdCheckAdmission): Promise<ApiKeyRecord | undefined>;
  /** Forget what is known about a key (after revoke, rotate or disable): its next use is checked again. */
  forget(keyId: string): void;
  /**
   * Something about the key (or, with a user id, about every key of that user; with nothing,
   * about every key) changed elsewhere (the change feed): its status is read again before its
   * next use, with no bcrypt, and a read already under way is not kept.
   */
  changed(scope: { keyId: string } | { userId: string } | undefined): void;
  /** Marks the start of a status read (see {@link refreshed}). */
  beginStatusRead(): StatusRead;
  /** Fresh statuses read in one go by the usage sync; `undefined` = the key no longer works. */
  refreshed(read: StatusRead, statuses: ReadonlyArray<{ keyId: string; record: ApiKeyRecord | undefined }>): void;
  readonly bcrypt: BcryptGate['counts'];
  /** Proof-cache lookups since start and the entries held now (for /metrics). */
  readonly cache: { readonly hits: number; readonly misses: number; readonly size: number; readonly capacity: number };
}

export function createKeyService(db: Queryable, options: { bcrypt?: BcryptGate; maxProofs?: number; feed?: ChangeFeed } = {}): KeyService {
  const bcrypt = options.bcrypt ?? createBcryptGate();
  const maxProofs = options.maxProofs ?? entriesWithin(PROOF_HEAP_SHARE, BYTES_PER_PROOF);
  // Keyed by SHA-256 of the presented key: the cache must never hold usable secrets.
  const proofs = new Map<string, { keyId: string; until: number }>();
  const statuses = new Map<string, { record: ApiKeyRecord; checkedAt: number }>();
  // Keyed by key id, or by `user:<id>` for a change to a user's standing.
  const forgotten = new Map<string, { epoch: number; at: number }>();
  /** Reads that began before this epoch are not kept (everything was dropped). */
  let resetEpoch = 0;
  // Concurrent first uses of one key share one lookup and one bcrypt; concurrent re-checks one read.
  const coldChecks = new Map<string, Promise<ApiKeyRecord | undefined>>();
  const statusChecks = new Map<string, Promise<ApiKeyRecord | undefined>>();
  let epoch = 0;
  const lookups = { hits: 0, misses: 0 };

  const digestOf = (presented: string): string => createHash('sha256').update(presented).digest('base64url');

  function beginStatusRead(): StatusRead {
    return { startedAt: Date.now(), epoch };
  }

  /** Stores a status read unless the key was forgotten after the read began (a revoke must win). */
  function storeStatus(read: StatusRead, keyId: string, record: ApiKeyRecord | undefined): void {
    if (read.epoch < resetEpoch || (forgotten.get(keyId)?.epoch ?? -1) > read.epoch) return;
    if (record && (forgotten.get(`user:${record.userId}`)?.epoch ?? -1) > read.epoch) return;
    if (record) statuses.set(keyId, { record, checkedAt: read.startedAt });
    else forget(keyId);
  }

  function forget(keyId: string): void {
    epoch += 1;
    forgotten.set(keyId, { epoch, at: Date.now() });
    statuses.delete(keyId);
    for (const [digest, proof] of proofs) if (proof.keyId === keyId) proofs.delete(digest);
  }

  function remember(digest: string, keyId: string): void {
    if (proofs.size >= maxProofs) {
      // Map iteration order is insertion order and hits re-insert: drop the least recently used.
      const oldest = proofs.keys().next().value;
      if (oldest !== undefined) proofs.delete(oldest);
    }
    proofs.set(digest, { keyId, until: Date.now() + PROOF_TTL_MS });
  }

  function provenKeyId(digest: string): string | undefined {
    const proof = proofs.get(digest);
    if (!proof) {
      lookups.misses += 1;
      return undefined;
    }
    const now = Date.now();
    if (proof.until <= now) {
      proofs.delete(digest);
      lookups.misses += 1;
      return undefined;
    }
    lookups.hits += 1;
    // Move to the most recent end at most once per PROOF_TOUCH_MS (a delete + set per request
    // churns the Map's backing store).
    if (proof.until - now < PROOF_TTL_MS - PROOF_TOUCH_MS) {
      proofs.delete(digest);
      proof.until = now + PROOF_TTL_MS;
      proofs.set(digest, proof);
    }
    return proof.keyId;
  }

  /** Expiry is checked on every request against the record, so it takes effect to the millisecond. */
  function usable(record: ApiKeyRecord): ApiKeyRecord | undefined {
    if (record.expiresAt && record.expiresAt.getTime() <= Date.now()) {
      forget(record.id);
      return undefined;
    }
    return record;
  }

  function freshStatus(keyId: string): ApiKeyRecord | undefined {
    const status = statuses.get(keyId);
    return status && stillTrusted(options.feed, status.checkedAt, Date.now(), STATUS_TTL_MS, STATUS_KEEP_MS) ? status.record : undefined;
  }

  function recheck(keyId: string): Promise<ApiKeyRecord | undefined> {
    let check = statusChecks.get(keyId);
    if (!check) {
      const read = beginStatusRead();
      check = findActiveKeyById(db, keyId)
        .then((record) => {
          storeStatus(read, keyId, record);
          return record;
        })
        .finally(() => statusChecks.delete(keyId));
      statusChecks.set(keyId, check);
    }
    return check;
  }

  async function coldCheck(presented: string, digest: string, publicId: string): Promise<ApiKeyRecord | undefined> {
    const read = beginStatusRead();
    const found = await findActiveKeyForVerification(db, publicId);
    // An unknown or dead public id costs no bcrypt at all.
    if (!found || !(await bcrypt.compare(presented, found.secretHash))) return undefined;
    storeStatus(read, found.record.id, found.record);
    if (statuses.has(found.record.id)) remember(digest, found.record.id);
    return found.record;
  }

  return {
    bcrypt: bcrypt.counts,
    cache: {
      get hits() {
        return lookups.hits;
      },
      get misses() {
        return lookups.misses;
      },
      get size() {
        return proofs.size;
      },
      capacity: maxProofs,
    },
    beginStatusRead,
    forget,
    changed(scope) {
      // The epoch mark keeps a status read under way (begun before the change) from being stored.
      epoch += 1;
      if (scope === undefined) {
        resetEpoch = epoch;
        statuses.clear();
      } else if ('keyId' in scope) {
        forgotten.set(scope.keyId, { epoch, at: Date.now() });
        statuses.delete(scope.keyId);
      } else {
        // Rare (a user disabled or deleted): a scan of the statuses held is fine.
        forgotten.set(`user:${scope.userId}`, { epoch, at: Date.now() });
        for (const [keyId, status] of statuses) if (status.record.userId === scope.userId) statuses.delete(keyId);
      }
    },

    async prepare() {
      const { key, publicId } = generateKey();
      return { key, publicId, secretHash: await bcrypt.hash(key) };
    },

    async mint(tx, input, prepared) {
      const { key, publicId, secretHash } = prepared ?? (await this.prepare());
      const record = await insertKey(tx, { ...input, publicId, secretHash });
      return { apiKey: key, record };
    },

    peek(presented) {
      if (!parseKey(presented)) return undefined;
      const keyId = provenKeyId(digestOf(presented));
      const record = keyId === undefined ? undefined : freshStatus(keyId);
      return record && usable(record);
    },

    async verify(presented, admit) {
      const parsed = parseKey(presented);
      if (!parsed) return undefined;
      const digest = digestOf(presented);
      const keyId = provenKeyId(digest);
      if (keyId !== undefined) {
        const fresh = freshStatus(keyId);
        if (fresh) return usable(fresh);
        // Proven before, status stale: one read by id, no bcrypt.
        const record = await recheck(keyId);
        return record && usable(record);
      }
      let check = coldChecks.get(digest);
      if (!check) {
        const settle = admit?.(parsed.publicId);
        check = coldCheck(presented, digest, parsed.publicId)
          .then(
            (record) => {
              settle?.(record ? 'accepted' : 'refused');
              return record;
            },
            (err: unknown) => {
              settle?.('failed');
              throw err;
            },
          )
          .finally(() => coldChecks.delete(digest));
        coldChecks.set(digest, check);
      }
      const record = await check;
      return record && usable(record);
    },

    refreshed(read, list) {
      for (const { keyId, record } of list) storeStatus(read, keyId, record);
      const now = Date.now();
      for (const [keyId, mark] of forgotten) if (now - mark.at > FORGET_MARK_TTL_MS) forgotten.delete(keyId);
      for (const [keyId, status] of statuses) if (now - status.checkedAt > STATUS_KEEP_MS) statuses.delete(keyId);
    },
  };
}
