import type { Actor } from '../auth/actor.js';
import { recordAudit } from '../audit/record.js';
import type { Cipher } from '../crypto/cipher.js';
import { withTransaction, type Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { NO_DEADLINE, type Deadline } from '../outbound/deadline.js';
import type { UpstreamLimits } from '../outbound/limits.js';
import type { OAuth2ProviderDefinition } from '../providers/schema.js';
import { connectionAad } from './connect-flow.js';
import { connectInstructions } from './connect-instructions.js';
import type { ConnectionRepository } from './connection-repository.js';
import { isLockNotAvailable, type ConnectionRow } from './connection-store.js';
import { refreshTokens, TokenRequestError } from './oauth-client.js';
import { createRefreshSlots } from './refresh-slots.js';
import { tokenFreshness } from './token-freshness.js';

/** Longest Retry-After a needed refresh waits out before giving up and telling the user. */
const MAX_RETRY_AFTER_MS = 5_000;
/** A lock holder also runs a few statements besides its token request. */
const LOCK_SLACK_MS = 2_000;

/** Why a user's call cannot get an upstream token; the message says what to do. */
export class NotConnectedError extends Error {
  constructor(
    readonly reason: 'not_connected' | 'reauth_required',
    message: string,
  ) {
    super(message);
    this.name = 'NotConnectedError';
  }
}

/** Another request (on any instance) held the refresh lock for longer than a refresh may take. */
export class RefreshBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefreshBusyError';
  }
}

export interface AccessTokenSource {
  /**
   * A usable access token for the user's connection, refreshed first when it is about to expire.
   * Every wait and token request ends by `deadline` (the tool call's; see outbound/deadline.ts).
   */
  get(userId: string, provider: OAuth2ProviderDefinition, actor: Actor, deadline?: Deadline): Promise<string>;
  /** After the upstream answered 401 to `rejected`: refresh (once, shared) and return the new token. */
  refreshAfterRejection(userId: string, provider: OAuth2ProviderDefinition, rejected: string, actor: Actor, deadline?: Deadline): Promise<string>;
  /**
   * Token requests since start by outcome (for /metrics): `ok`, `invalid_grant` (the user must
   * reconnect), `transient`, `rejected` (see TokenRequestError), `error` (anything else), and
   * `busy` (no slot or lock in time, so no request was made).
   */
  readonly refreshes: Readonly<Record<RefreshOutcome, number>>;
}

export type RefreshOutcome = 'ok' | 'invalid_grant' | 'transient' | 'rejected' | 'error' | 'busy';

export interface AccessTokenDeps {
  pool: Pool;
  /** Where a tool call finds the connection (cached for a few seconds) and a refresh locks it and stores its outcome. */
  connections: ConnectionRepository;
  cipher: Cipher;
  log: Logger;
  /** PUBLIC_URL: "not connected" results point at the dashboard and the connect route under it. */
  publicUrl: string;
  limits: Pick<UpstreamLimits, 'tokenTimeoutMs' | 'refreshRetryDelaysMs' | 'refreshConcurrency'>;
}

/**
 * `due`: the token still works, so one attempt, never queued behind another instance's refresh,
 * and the caller keeps the current token if it fails. `required`: the token has expired or was
 * refused, so wait for the lock (bounded) and retry transient failures.
 */
type Urgency = 'due' | 'required';

/**
 * Exactly one refresh per connection at a time. In-process callers share one promise; across
 * instances a row lock (`SELECT … FOR UPDATE`) serialises refreshes. After the lock, a refresh
 * happens only if the stored token is still the one the caller found bad: otherwise someone else
 * refreshed meanwhile and their token is used, because refreshing again would spend a rotated
 * refresh token twice (the upstream may then revoke the whole grant).
 *
 * The lock is held only across one token request, which `tokenTimeoutMs` bounds; waiters give up
 * after that bound plus a little (`lock_timeout`), and backoff between attempts happens with no
 * transaction open. All of it also ends by the deadline of the call that started the refresh;
 * calls that join a running refresh started later, so their deadlines are no earlier.
 */
export function createAccessTokenSource(deps: AccessTokenDeps): AccessTokenSource {
  const inFlight = new Map<string, Promise<string>>();
  const lockWaitMs = deps.limits.tokenTimeoutMs + LOCK_SLACK_MS;
  const slots = createRefreshSlots(deps.limits.refreshConcurrency);
  const refreshes: Record<RefreshOutcome, number> = { ok: 0, invalid_grant: 0, transient: 0, rejected: 0, error: 0, busy: 0 };

  function decryptAccess(row: ConnectionRow): string {
    return deps.cipher.decrypt(row.accessTokenEnc, connectionAad(row.userId, row.providerId));
  }

  function notConnected(provider: OAuth2ProviderDefinition, reason: NotConnectedError['reason']): NotConnectedError {
    const what = reason === 'reauth_required' ? `Your ${provider.name} connection needs to be re-authorized` : `You have not connected ${provider.name} yet`;
    return new NotConnectedError(reason, `${what}. ${connectInstructions(deps.publicUrl, provider.id)}`);
  }

  function usableRow(row: ConnectionRow | undefined, provider: OAuth2ProviderDefinition): ConnectionRow {
    if (!row) throw notConnected(provider, 'not_connected');
    if (row.reauthRequiredAt) throw notConnected(provider, 'reauth_required');
    return row;
  }

  function refresh(userId: string, provider: OAuth2ProviderDefinition, seen: string, urgency: Urgency, actor: Actor, deadline: Deadline): Promise<string> {
    const key = `${userId}\u0000${provider.id}\u0000${urgency}`;
    const running = inFlight.get(key);
    if (running) return running;
    const work = refreshWithRetries(userId, provider, seen, urgency, actor, deadline).finally(() => inFlight.delete(key));
    inFlight.set(key, work);
    return work;
  }

  async function refreshWithRetries(userId: string, provider: OAuth2ProviderDefinition, seen: string, urgency: Urgency, actor: Actor, deadline: Deadline): Promise<string> {
    const delays = urgency === 'required' ? deps.limits.refreshRetryDelaysMs : [];
    for (let attempt = 0; ; attempt++) {
      try {
        return await refreshOnce(userId, provider, seen, urgency, actor, deadline);
      } catch (err) {
        const delay = delays[attempt];
        if (!(err instanceof TokenRequestError) || err.kind !== 'transient' || delay === undefined) throw err;
        const wait = Math.max(delay, (err.retryAfterSeconds ?? 0) * 1000);
        // A retry that could only start after the call's deadline is not waited for.
        if (wait > MAX_RETRY_AFTER_MS || wait * 1.25 >= deadline.remaining()) throw err;
        deps.log.warn({ provider: provider.id, attempt: attempt + 1, err: err.message }, 'token refresh failed; retrying');
        // Jitter keeps instances that failed together from retrying in lockstep.
        await new Promise((resolve) => setTimeout(resolve, wait * (0.75 + Math.random() * 0.5)));
      }
    }
  }

  async function refreshOnce(userId: string, provider: OAuth2ProviderDefinition, seen: string, urgency: Urgency, actor: Actor, deadline: Deadline): Promise<string> {
    // A token that still works never waits for a slot. One that must be refreshed waits for a slot
    // and then for the row lock within one budget, so the cap adds no time to the wait's bound.
    const started = Date.now();
    const release = urgency === 'due' ? slots.tryTake() : await slots.take(deadline.cap(lockWaitMs));
    if (!release) refreshes.busy += 1;
    if (!release) throw new RefreshBusyError(`too many token refreshes are under way; your ${provider.name} access could not be refreshed in time`);
    try {
      // 0 would mean NOWAIT: a 'required' refresh always waits at least a moment for the lock.
      const lockWait = urgency === 'required' ? deadline.cap(Math.max(1, lockWaitMs - (Date.now() - started))) : 0;
      return await refreshHoldingSlot(userId, provider, seen, urgency, lockWait, actor, deadline);
    } finally {
      release();
    }
  }

  async function refreshHoldingSlot(
    userId: string,
    provider: OAuth2ProviderDefinition,
    seen: string,
    urgency: Urgency,
    lockWait: number,
    actor: Actor,
    deadline: Deadline,
  ): Promise<string> {
    const aad = connectionAad(userId, provider.id);
    let outcome: { token: string } | { reauth: string };
    try {
      outcome = await withTransaction(deps.pool, async (tx) => {
        const row = usableRow(await deps.connections.lock(tx, userId, provider.id, lockWait), provider);
        const current = decryptAccess(row);
        const freshness = tokenFreshness({ issuedAt: row.accessTokenIssuedAt, expiresAt: row.expiresAt });
        if (current !== seen && freshness !== 'expired') return { token: current };
        if (!row.refreshTokenEnc) {
          // Nothing to refresh with: the token serves until it has expired or been refused.
          if (urgency === 'due') return { token: current };
          await deps.connections.markReauthRequired(tx, userId, provider.id);
          return { reauth: 'the access token is no longer accepted and there is no refresh token' };
        }
        let tokens;
        try {
          tokens = await refreshTokens(provider, deps.cipher.decrypt(row.refreshTokenEnc, aad), tokenTimeout(urgency, deadline));
          refreshes.ok += 1;
        } catch (err) {
          refreshes[err instanceof TokenRequestError ? err.kind : 'error'] += 1;
          if (!(err instanceof TokenRequestError) || err.kind !== 'invalid_grant') throw err;
          // Marked while the lock is held: a reconnect that lands right after must not be marked too.
          await deps.connections.markReauthRequired(tx, userId, provider.id);
          return { reauth: err.message };
        }
        await deps.connections.updateTokens(tx, userId, provider.id, {
          accessTokenEnc: deps.cipher.encrypt(tokens.accessToken, aad),
          // A rotated refresh token is written in the same statement as its access token.
          refreshTokenEnc: tokens.refreshToken ? deps.cipher.encrypt(tokens.refreshToken, aad) : undefined,
          issuedAt: tokens.issuedAt,
          expiresAt: tokens.expiresAt,
          ...(tokens.scopes ? { scopes: tokens.scopes } : {}),
        });
        deps.log.debug({ provider: provider.id, urgency, rotated: Boolean(tokens.refreshToken) }, 'refreshed upstream access token');
        return { token: tokens.accessToken };
      });
    } catch (err) {
      if (!isLockNotAvailable(err)) throw err;
      refreshes.busy += 1;
      // NOWAIT ('due') finds another instance refreshing right now; a 'required' wait outlasted the bound.
      throw new RefreshBusyError(`a refresh of your ${provider.name} access already under way did not finish in time`);
    }
    if ('token' in outcome) return outcome.token;
    await recordAudit(deps.pool, { userId, type: 'connection.reauth_required', detail: { provider: provider.id }, actor }, deps.log);
    deps.log.info({ provider: provider.id, reason: outcome.reauth }, 'upstream refused the refresh; connection needs re-authorization');
    throw notConnected(provider, 'reauth_required');
  }

  /**
   * An early refresh ('due') may take at most half of what is left of the call: the token still
   * works, so the call's own request must keep time to run when the token endpoint hangs.
   */
  function tokenTimeout(urgency: Urgency, deadline: Deadline): number {
    const own = deps.limits.tokenTimeoutMs;
    return deadline.cap(urgency === 'due' ? Math.min(own, deadline.remaining() / 2) : own);
  }

  return {
    refreshes,
    async get(userId, provider, actor, deadline = NO_DEADLINE) {
      const row = usableRow(await deps.connections.find(userId, provider.id), provider);
      const current = decryptAccess(row);
      const freshness = tokenFreshness({ issuedAt: row.accessTokenIssuedAt, expiresAt: row.expiresAt });
      if (freshness === 'fresh') return current;
      if (freshness === 'expired') return refresh(userId, provider, current, 'required', actor, deadline);
      try {
        return await refresh(userId, provider, current, 'due', actor, deadline);
      } catch (err) {
        if (err instanceof NotConnectedError) throw err;
        // Still valid: a failed or contended early refresh must not fail the call. The next call
        // tries again; once the token has expired, failures are reported.
        const level = err instanceof RefreshBusyError ? 'debug' : 'warn';
        deps.log[level]({ provider: provider.id, err: (err as Error).message }, 'early token refresh did not happen; using the current token');
        return current;
      }
    },
    refreshAfterRejection(userId, provider, rejected, actor, deadline = NO_DEADLINE) {
      return refresh(userId, provider, rejected, 'required', actor, deadline);
    },
  };
}
