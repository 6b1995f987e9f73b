import type { Logger } from '../log.js';
import type { Queryable } from './pool.js';
import { sweep } from './sweep.js';

/** A row of `cache_changes` (migrations/1734000700000_cache_changes.sql): what stopped being true. */
export type Change =
  | { kind: 'key'; userId: string; keyId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'connection'; userId: string; providerId: string };

/**
 * How far each read looks back past the previous read's snapshot. A change row is stamped when it
 * is written and becomes visible when its transaction commits; one that committed up to this long
 * after being written is still seen (transactions that change keys, users or connections last
 * milliseconds). Rows seen before are skipped by id.
 */
const LOOK_BACK_MS = 10_000;
/** More changes than this in one read (a `reencrypt` run, a bulk update): drop every cached copy instead. */
const MAX_PER_READ = 5_000;
/** After this long without a successful read, the rows in between may be swept: start over. */
const MAX_GAP_MS = 30 * 60_000;

/**
 * Every instance reads what changed elsewhere about once a second and drops its cached copies of
 * it, so a cache may trust a copy for minutes rather than re-reading it every few seconds: with
 * many active users the re-reads were most of the database's work (docs/scaling.md).
 */
export interface ChangeFeed {
  /**
   * Local time (ms) at which the last successful read started: every change committed before it
   * has been applied. 0 until the first read succeeds.
   */
  readonly appliedUntil: number;
  /** Copies read before this local time (ms) are not covered by the feed (it had not started, or it started over). */
  readonly coveredFrom: number;
  /** `apply` gets each change once, or `undefined` when too many came at once: drop everything cached. */
  subscribe(apply: (change: Change | undefined) => void): void;
  /** One read now (or the one under way). */
  read(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Whether a copy read at `readAt` may still be used at `now`: read within `ttlMs` (the promise to
 * users: a change made elsewhere is seen within it), or covered by a feed that has been read
 * within `ttlMs` and not older than `keepMs`.
 */
export function stillTrusted(feed: Pick<ChangeFeed, 'appliedUntil' | 'coveredFrom'> | undefined, readAt: number, now: number, ttlMs: number, keepMs: number): boolean {
  if (now - readAt < ttlMs) return true;
  return feed !== undefined && readAt >= feed.coveredFrom && now - feed.appliedUntil < ttlMs && now - readAt < keepMs;
}

const READ_SQL = `
WITH c AS (
  SELECT id, kind, user_id, subject FROM cache_changes
   WHERE at > COALESCE($1::timestamptz, now()) - make_interval(secs => $2::float8 / 1000)
   ORDER BY id LIMIT $3
)
SELECT now() AS read_at, c.id, c.kind, c.user_id, c.subject FROM (SELECT 1) AS one LEFT JOIN c ON true`;

interface Row {
  read_at: Date;
  id: string | null;
  kind: Change['kind'] | null;
  user_id: string | null;
  subject: string | null;
}

function toChange(row: Row): Change | undefined {
  if (row.kind === 'key' && row.user_id && row.subject) return { kind: 'key', userId: row.user_id, keyId: row.subject };
  if (row.kind === 'user' && row.user_id) return { kind: 'user', userId: row.user_id };
  if (row.kind === 'connection' && row.user_id && row.subject) return { kind: 'connection', userId: row.user_id, providerId: row.subject };
  return undefined;
}

export function startChangeFeed(deps: { db: Queryable; log: Logger; intervalMs: number }): ChangeFeed {
  const subscribers: Array<(change: Change | undefined) => void> = [];
  /** Ids applied, with when they were seen (ms): only rows inside the look-back can come again. */
  const seen = new Map<string, number>();
  let since: Date | null = null;
  let appliedUntil = 0;
  let coveredFrom = Number.POSITIVE_INFINITY;
  let running: Promise<void> | undefined;
  let failures = 0;

  const publish = (change: Change | undefined): void => {
    for (const apply of subscribers) apply(change);
  };

  async function readOnce(): Promise<void> {
    const startedAt = Date.now();
    let rows: Row[];
    try {
      ({ rows } = await deps.db.query<Row>(READ_SQL, [since, LOOK_BACK_MS, MAX_PER_READ]));
    } catch (err) {
      if (failures++ === 0) deps.log.warn({ err: (err as Error).message }, 'change feed read failed; caches fall back to re-reading every few seconds');
      return;
    }
    if (failures > 0) deps.log.info({ failures }, 'change feed read recovered');
    failures = 0;
    const changes = rows.filter((r) => r.id !== null);
    if (changes.length >= MAX_PER_READ || (appliedUntil > 0 && startedAt - appliedUntil > MAX_GAP_MS)) {
      seen.clear();
      publish(undefined);
      coveredFrom = startedAt;
    } else {
      for (const row of changes) {
        const id = row.id as string;
        if (seen.has(id)) continue;
        seen.set(id, startedAt);
        const change = toChange(row);
        if (change) publish(change);
      }
    }
    for (const [id, at] of seen) if (startedAt - at > 3 * LOOK_BACK_MS) seen.delete(id);
    if (coveredFrom === Number.POSITIVE_INFINITY) coveredFrom = startedAt;
    since = rows[0]?.read_at ?? since;
    appliedUntil = startedAt;
  }

  function read(): Promise<void> {
    running ??= readOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => void read(), deps.intervalMs);
  timer.unref();
  void read();

  return {
    get appliedUntil() {
      return appliedUntil;
    },
    get coveredFrom() {
      return coveredFrom;
    },
    subscribe(apply) {
      subscribers.push(apply);
    },
    read,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Change rows older than an hour: readers look back seconds, and start over after MAX_GAP_MS. */
export function deleteOldCacheChanges(db: Queryable): Promise<number> {
  return sweep(db, 'cache_changes', `at < now() - interval '1 hour'`);
}
