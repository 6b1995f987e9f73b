import type { Actor } from '../auth/actor.js';
import { withTransaction, type Pool } from '../db/pool.js';
import type { KeyService } from '../keys/key-service.js';
import { mintKeyFor } from '../keys/manage-keys.js';
import { ALL_SCOPES } from '../keys/scopes.js';
import { insertUser } from './user-store.js';

export interface Registration {
  userId: string;
  apiKey: string;
}

/** Creates a user and their first key (all scopes) in one transaction: never a user without a key. */
export async function registerUser(pool: Pool, keys: KeyService, name: string | null, actor: Actor): Promise<Registration> {
  // Hashed before the transaction, so no pool connection waits on bcrypt.
  const prepared = await keys.prepare();
  return withTransaction(pool, async (tx) => {
    const user = await insertUser(tx, name);
    const { apiKey } = await mintKeyFor(tx, keys, { userId: user.id, name: 'default', scopes: ALL_SCOPES, expiresAt: null, via: 'register' }, actor, prepared);
    return { userId: user.id, apiKey };
  });
}
