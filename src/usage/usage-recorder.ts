import type { Queryable } from '../db/pool.js';
import type { Logger } from '../log.js';
import { utcDay } from './days.js';
import { addUsage, type UsageIncrement } from './usage-store.js';

/** How often pending counts are written, unless the caller says otherwise. */
export const DEFAULT_FLUSH_INTERVAL_MS = 5_000;
/**
 * Distinct counters kept while the database cannot take them. Past this, new counters are dropped
 * (and the loss logged) rather than letting an outage grow memory without bound.
 */
const MAX_PENDING = 100_000;

/** One finished tool call. */
export interface ToolCallOutcome {
  userId: string;
  providerId: string;
  tool: string;
  ok: boolean;
}

export interface UsageRecorder {
  /** Counts a call in memory; never touches the database. */
  record(call: ToolCallOutcome): void;
  /** Writes everything pending now, in one statement; waits for a flush already under way first. */
  flush(): Promise<void>;
  /** Starts flushing every interval. */
  start(): void;
  /** Stops the timer and writes what is pending (graceful shutdown). */
  stop(): Promise<void>;
  /** When counts were last written (or nothing was pending), ms since the epoch: /metrics shows the lag. */
  readonly lastWrittenAt: number;
}

export interface UsageRecorderOptions {
  db: Queryable;
  log: Logger;
  /** Default {@link DEFAULT_FLUSH_INTERVAL_MS}; tests use a short one. */
  flushIntervalMs?: number;
  /** The clock that decides a call's day (tests pin it). */
  now?: () => Date;
}

/**
 * Tool-call counters aggregated in memory and flushed by one batched upsert: the hot path costs a
 * Map update, and N calls cost one write per interval however large N is. A failed flush keeps its
 * counts for the next one, so a database blip loses nothing.
 */
export function createUsageRecorder(options: UsageRecorderOptions): UsageRecorder {
  const interval = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  const now = options.now ?? (() => new Date());
  let pending = new Map<string, UsageIncrement>();
  let dropped = 0;
  let chain: Promise<void> = Promise.resolve();
  let busy = false;
  let timer: NodeJS.Timeout | undefined;
  let lastWrittenAt = Date.now();

  function add(into: Map<string, UsageIncrement>, inc: UsageIncrement): void {
    const key = `${inc.userId}\u0000${inc.day}\u0000${inc.providerId}\u0000${inc.tool}`;
    const existing = into.get(key);
    if (existing) {
      existing.ok += inc.ok;
      existing.error += inc.error;
    } else if (into.size < MAX_PENDING) {
      into.set(key, { ...inc });
    } else {
      dropped += inc.ok + inc.error;
    }
  }

  async function write(): Promise<void> {
    if (pending.size === 0) {
      lastWrittenAt = Date.now();
      return;
    }
    const batch = pending;
    pending = new Map();
    const rows = [...batch.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, inc]) => inc);
    try {
      await addUsage(options.db, rows);
      lastWrittenAt = Date.now();
    } catch (err) {
      // Put the counts back (merged with anything recorded meanwhile) for the next attempt.
      for (const inc of rows) add(pending, inc);
      options.log.warn({ err: (err as Error).message, counters: rows.length }, 'could not write tool usage; will retry');
    }
    if (dropped > 0) {
      options.log.error({ calls: dropped }, 'tool usage dropped: too many counters pending while the database was unavailable');
      dropped = 0;
    }
  }

  function flush(): Promise<void> {
    chain = chain.then(write);
    return chain;
  }

  return {
    get lastWrittenAt() {
      return lastWrittenAt;
    },
    record(call) {
      add(pending, { userId: call.userId, day: utcDay(now()), providerId: call.providerId, tool: call.tool, ok: call.ok ? 1 : 0, error: call.ok ? 0 : 1 });
    },
    flush,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        // A slow database must not stack up flushes: skip the tick while one is running.
        if (busy) return;
        if (pending.size === 0) {
          lastWrittenAt = Date.now();
          return;
        }
        busy = true;
        void flush().finally(() => {
          busy = false;
        });
      }, interval);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await flush();
    },
  };
}
