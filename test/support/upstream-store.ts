/**
 * Storage for the test upstream's oidc-provider artefacts (sessions, grants, codes, tokens).
 *
 * Why not oidc-provider's built-in memory adapter: it keeps one module-wide LRU capped at 1000
 * entries, shared by every provider in the process, so a long test file could see live grants
 * evicted. This store belongs to one upstream, never evicts, and can list an account's grants,
 * which `revokeGrantsFor` needs.
 */

/** What oidc-provider hands an adapter to keep; only the fields this store indexes are named. */
export interface StoredPayload {
  [field: string]: unknown;
  accountId?: string;
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: unknown;
}

/** oidc-provider's adapter contract for one model (see its `Adapter` interface). */
export interface ModelAdapter {
  upsert(id: string, payload: StoredPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<StoredPayload | undefined>;
  findByUid(uid: string): Promise<StoredPayload | undefined>;
  findByUserCode(userCode: string): Promise<StoredPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

interface Entry {
  model: string;
  id: string;
  payload: StoredPayload;
  expiresAt: number;
}

export class UpstreamStore {
  readonly #entries = new Map<string, Entry>();

  /** The factory oidc-provider calls once per model name (its `adapter` configuration option). */
  readonly adapterFor = (model: string): ModelAdapter => ({
    upsert: async (id, payload, expiresIn) => {
      const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
      // Copy so later mutation by the caller can't change what is "in the database".
      this.#entries.set(keyOf(model, id), { model, id, payload: { ...payload }, expiresAt });
    },
    find: async (id) => copy(this.#live(keyOf(model, id))),
    findByUid: async (uid) => copy(this.#findWhere(model, (p) => p.uid === uid)),
    findByUserCode: async (userCode) => copy(this.#findWhere(model, (p) => p.userCode === userCode)),
    consume: async (id) => {
      const entry = this.#live(keyOf(model, id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    },
    destroy: async (id) => {
      this.#entries.delete(keyOf(model, id));
    },
    revokeByGrantId: async (grantId) => {
      for (const [key, entry] of this.#entries) {
        if (entry.model === model && entry.payload.grantId === grantId) this.#entries.delete(key);
      }
    },
  });

  /** Ids of every live grant the account has given, across clients. */
  grantIdsOf(accountId: string): string[] {
    const ids: string[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.model === 'Grant' && entry.payload.accountId === accountId && this.#live(key)) ids.push(entry.id);
    }
    return ids;
  }

  /** Deletes the account's access tokens only: its grants and refresh tokens keep working. */
  revokeAccessTokens(accountId: string): void {
    for (const [key, entry] of this.#entries) {
      if (entry.model === 'AccessToken' && entry.payload.accountId === accountId) this.#entries.delete(key);
    }
  }

  /** Deletes every dynamically registered client (RFC 7591), as an authorization server that lost them would. */
  forgetClients(): void {
    for (const [key, entry] of this.#entries) if (entry.model === 'Client') this.#entries.delete(key);
  }

  /** Deletes the grant and everything issued under it (codes, access and refresh tokens). */
  revokeGrant(grantId: string): void {
    this.#entries.delete(keyOf('Grant', grantId));
    for (const [key, entry] of this.#entries) {
      if (entry.payload.grantId === grantId) this.#entries.delete(key);
    }
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #findWhere(model: string, matches: (payload: StoredPayload) => boolean): Entry | undefined {
    for (const [key, entry] of this.#entries) {
      if (entry.model === model && matches(entry.payload) && this.#live(key)) return entry;
    }
    return undefined;
  }
}

function keyOf(model: string, id: string): string {
  return `${model}:${id}`;
}

function copy(entry: Entry | undefined): StoredPayload | undefined {
  return entry ? { ...entry.payload } : undefined;
}
