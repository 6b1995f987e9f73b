import type { Actor } from '../auth/actor.js';
import { insertAuditEvent } from '../audit/audit-store.js';
import { withTransaction, type Pool, type Queryable } from '../db/pool.js';
import { ForbiddenError, InvalidRequestError, NotFoundError } from '../errors.js';
import type { CreationSlots } from './creation-slots.js';
import { effectiveKeyLimits, type LimitSettings } from '../limits/settings.js';
import type { KeyService, MintedKey, PreparedKey } from './key-service.js';
import { countLiveKeys, findLiveKeyOfUser, listLiveKeys, retireRotatedKey, revokeKey, type ApiKeyRecord, type RateLimitOverrides } from './key-store.js';
import { scopesBeyond, type Scope } from './scopes.js';

/** Keeps one user from multiplying their rate limits (and our bcrypt work) with endless keys. */
export const MAX_LIVE_KEYS_PER_USER = 50;
/** The longest an old secret may keep working after a rotation. */
export const MAX_GRACE_SECONDS = 7 * 24 * 3600;

export interface ManageKeysDeps {
  pool: Pool;
  keys: KeyService;
  /** At most a few key creations (and rotations) of one user at once; the rest are 429. */
  creations: CreationSlots;
  limits: Pick<LimitSettings, 'keyPerMinute' | 'keyPerHour'>;
}

export interface NewKeyRequest {
  name?: string | undefined;
  expiresIn?: number | undefined;
  scopes?: Scope[] | undefined;
  rateLimit?: { perMinute?: number | undefined; perHour?: number | undefined } | undefined;
}

/** How a key came to be, recorded in its audit event. */
export type KeyOrigin = 'api' | 'web' | 'register' | 'admin-cli';

/**
 * Mints a key for a user with no questions asked, and records it. Callers decide what is
 * allowed: the API (createKeyAs) and the operator CLI.
 */
export async function mintKeyFor(
  tx: Queryable,
  keys: KeyService,
  input: { userId: string; name: string | null; scopes: readonly Scope[]; expiresAt: Date | null; rateLimit?: RateLimitOverrides; via: KeyOrigin },
  actor: Actor,
  prepared?: PreparedKey,
): Promise<MintedKey> {
  const minted = await keys.mint(tx, input, prepared);
  const r = minted.record;
  await insertAuditEvent(tx, {
    userId: input.userId,
    type: 'key.created',
    detail: { key_id: r.id, prefix: r.prefix, name: r.name, scopes: r.scopes, expires_at: r.expiresAt?.toISOString() ?? null, via: input.via },
    actor,
  });
  return minted;
}

/**
 * POST /api/keys (and the web page's create form): a new key for the caller's own user. It can
 * never do more than the key creating it: scopes default to the caller's and may only narrow
 * (403 insufficient_scope), rate limits default to the caller's and may only be lower, and it
 * never outlives the caller.
 */
export async function createKeyAs(deps: ManageKeysDeps, caller: ApiKeyRecord, request: NewKeyRequest, actor: Actor, via: KeyOrigin = 'api'): Promise<MintedKey> {
  const scopes = request.scopes ?? caller.scopes;
  const beyond = scopesBeyond(caller.scopes, scopes);
  if (beyond.length > 0) {
    throw new ForbiddenError(`This API key cannot grant scopes it does not have: ${beyond.join(', ')}.`, 'insufficient_scope');
  }

  const own = effectiveKeyLimits(caller.rateLimit, deps.limits);
  const rateLimit: RateLimitOverrides = {
    perMinute: request.rateLimit?.perMinute ?? caller.rateLimit.perMinute,
    perHour: request.rateLimit?.perHour ?? caller.rateLimit.perHour,
  };
  if (request.rateLimit?.perMinute !== undefined && request.rateLimit.perMinute > own.perMinute) {
    throw new InvalidRequestError(`rate_limit.per_minute cannot exceed this key's own limit (${own.perMinute}).`);
  }
  if (request.rateLimit?.perHour !== undefined && request.rateLimit.perHour > own.perHour) {
    throw new InvalidRequestError(`rate_limit.per_hour cannot exceed this key's own limit (${own.perHour}).`);
  }

  let expiresAt = request.expiresIn === undefined ? caller.expiresAt : new Date(Date.now() + request.expiresIn * 1000);
  if (caller.expiresAt && expiresAt && expiresAt > caller.expiresAt) {
    throw new InvalidRequestError(`expires_in would outlive this API key, which expires at ${caller.expiresAt.toISOString()}.`);
  }
  expiresAt ??= null;

  return deps.creations.run(caller.userId, async () => {
    // Hashed before the transaction: the row lock and the pool connection are held for milliseconds, not a bcrypt.
    const prepared = await deps.keys.prepare();
    return withTransaction(deps.pool, async (tx) => {
      await lockUserUnderKeyCap(tx, caller.userId);
      return mintKeyFor(tx, deps.keys, { userId: caller.userId, name: request.name ?? null, scopes, expiresAt, rateLimit, via }, actor, prepared);
    });
  });
}

/** Serialises key creation per user (the row lock) so the count cannot be raced past, then checks it. */
async function lockUserUnderKeyCap(tx: Queryable, userId: string): Promise<void> {
  await tx.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
  if ((await countLiveKeys(tx, userId)) >= MAX_LIVE_KEYS_PER_USER) {
    throw new InvalidRequestError(`A user can have at most ${MAX_LIVE_KEYS_PER_USER} working keys. Delete one first.`, 'too_many_keys');
  }
}

export function listKeysOf(pool: Pool, userId: string): Promise<ApiKeyRecord[]> {
  return listLiveKeys(pool, userId);
}

/**
 * Revokes a key of `userId` (null: the operator, any user's). Effective at once here; other
 * instances see it at their next usage sync (STATUS_TTL_MS at worst).
 */
export async function revokeKeyOf(deps: Pick<ManageKeysDeps, 'pool' | 'keys'>, userId: string | null, keyId: string, via: KeyOrigin, actor: Actor): Promise<ApiKeyRecord> {
  const revoked = await withTransaction(deps.pool, async (tx) => {
    const record = await revokeKey(tx, keyId, userId);
    if (!record) return undefined;
    await insertAuditEvent(tx, {
      userId: record.userId,
      type: 'key.revoked',
      detail: { key_id: record.id, prefix: record.prefix, name: record.name, via },
      actor,
    });
    return record;
  });
  if (!revoked) throw new NotFoundError('No such API key (it may already be revoked or expired).');
  deps.keys.forget(revoked.id);
  return revoked;
}

export interface Rotation {
  minted: MintedKey;
  previous: { id: string; prefix: string; endsAt: Date };
}

/**
 * POST /api/keys/:id/rotate: a new secret with the same name, scopes, limits and expiry; the
 * old secret keeps working for `graceSeconds` (0: stops now). Rotating a key with scopes the
 * caller lacks would hand the caller those scopes, so that is refused like creating one.
 */
export async function rotateKeyAs(deps: ManageKeysDeps, caller: ApiKeyRecord, keyId: string, graceSeconds: number, actor: Actor): Promise<Rotation> {
  const prepared = await deps.creations.run(caller.userId, () => deps.keys.prepare());
  const rotation = await withTransaction(deps.pool, async (tx) => {
    // During its grace period the old secret still works: the replacement is one more working key.
    if (graceSeconds > 0) await lockUserUnderKeyCap(tx, caller.userId);
    const old = await findLiveKeyOfUser(tx, caller.userId, keyId, true);
    if (!old) throw new NotFoundError('No such API key (it may already be revoked or expired).');
    if (old.replacedBy) throw new InvalidRequestError('This key has already been rotated; rotate its replacement instead.', 'already_rotated');
    const beyond = scopesBeyond(caller.scopes, old.scopes);
    if (beyond.length > 0) {
      throw new ForbiddenError(`This API key cannot rotate a key with scopes it does not have: ${beyond.join(', ')}.`, 'insufficient_scope');
    }
    const minted = await deps.keys.mint(tx, { userId: old.userId, name: old.name, scopes: old.scopes, expiresAt: old.expiresAt, rateLimit: old.rateLimit }, prepared);
    const endsAt = await retireRotatedKey(tx, old.id, minted.record.id, graceSeconds);
    await insertAuditEvent(tx, {
      userId: old.userId,
      type: 'key.rotated',
      detail: {
        key_id: old.id,
        prefix: old.prefix,
        new_key_id: minted.record.id,
        new_prefix: minted.record.prefix,
        grace_seconds: graceSeconds,
        old_key_ends_at: endsAt.toISOString(),
      },
      actor,
    });
    return { minted, previous: { id: old.id, prefix: old.prefix, endsAt } };
  });
  // The old key's cached status still has its old expiry: make its next use re-read it.
  deps.keys.forget(rotation.previous.id);
  return rotation;
}
