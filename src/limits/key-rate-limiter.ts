import type { KeyLimits } from './settings.js';
import { secondsUntilReset, windowStart, WINDOWS, type WindowName } from './windows.js';

/**
 * Per-key request counting with no I/O on the request path.
 *
 * Each instance counts requests in memory. About once a second the usage sync adds the counts
 * not yet sent to PostgreSQL and reads back the global per-window totals in the same statement.
 * A request is admitted when `global total at the last sync + this instance's requests since`
 * is under the limit. One instance alone therefore never overshoots; with N instances a key can
 * overshoot by what the other N−1 instances admit for it between two syncs (see docs/api.md "Rate limits").
 */
export interface KeyRateLimiter {
  /**
   * Counts `count` requests (default one) unless they do not all fit under every limit — all or
   * nothing; the decision carries the header values.
   */
  take(keyId: string, limits: KeyLimits, now?: number, count?: number): RateDecision;
  /** Takes back one request counted here and not sent yet (it was refused after all); false when already sent. */
  untake(keyId: string, now?: number): boolean;
  /** Counts to flush: every key with unsent counts or used in the last minute. Marks them in flight. */
  drain(now?: number): UsageBatch;
  /** Applies a flush's outcome: the totals read back, or `undefined` when it failed (counts are kept for the next one). */
  settle(batch: UsageBatch, totals: SyncedTotals | undefined): void;
  /** How many requests take() refused since start (for /metrics). */
  readonly refusals: number;
}

export interface RateDecision {
  allowed: boolean;
  /** The window closest to its limit (the one that refused, when refused). */
  window: WindowName;
  limit: number;
  remaining: number;
  /** Seconds until that window resets. */
  resetSeconds: number;
  /** Every window's limit, for the RateLimit-Policy header. */
  policy: Array<{ limit: number; seconds: number }>;
}

export type WindowTotals = Record<WindowName, number>;

/**
 * One sync's counts, column by column: at 20,000 active keys a sync carries 20,000 of them every
 * second, and an object (or a Date) per key and window was much of the process's garbage.
 */
export interface UsageBatch {
  /** Start (ms) of each window: drain() rolls every counter to the current windows, so all keys share them. */
  readonly starts: Readonly<WindowTotals>;
  readonly keyIds: string[];
  /** The count being added for keyIds[i], per window. */
  readonly deltas: Readonly<Record<WindowName, number[]>>;
}
/** A sync's answer, aligned with its batch's keyIds: each key's global total per window. */
export type SyncedTotals = Readonly<Record<WindowName, readonly number[]>>;

interface Counter {
  start: number;
  /** Global total of this window as of the last successful sync (includes our earlier counts). */
  synced: number;
  /** Sent in the flush now running. */
  inflight: number;
  /** Counted here since, not sent yet. */
  pending: number;
}
type Usage = Record<WindowName, Counter> & { lastUsed: number };

/** Keys used this recently are kept in the sync even with nothing to add, so their status and totals stay fresh. */
const KEEP_FRESH_MS = 60_000;
/** Counters of keys idle this long are dropped (their windows are over anyway). */
const IDLE_DROP_MS = 3_600_000;

export function createKeyRateLimiter(): KeyRateLimiter {
  const usage = new Map<string, Usage>();
  let refusals = 0;

  function roll(counter: Counter, start: number): void {
    if (counter.start === start) return;
    // A new window: counts of the old one no longer matter here (a flush in flight still adds them to its row).
    counter.start = start;
    counter.synced = 0;
    counter.inflight = 0;
    counter.pending = 0;
  }

  function usageOf(keyId: string, now: number): Usage {
    let u = usage.get(keyId);
    if (!u) {
      const counter = (seconds: number): Counter => ({ start: windowStart(now, seconds), synced: 0, inflight: 0, pending: 0 });
      u = { minute: counter(60), hour: counter(3600), lastUsed: now };
      usage.set(keyId, u);
    }
    for (const w of WINDOWS) roll(u[w.name], windowStart(now, w.seconds));
    return u;
  }

  const used = (c: Counter): number => c.synced + c.inflight + c.pending;
  const limitOf = (limits: KeyLimits, name: WindowName): number => (name === 'minute' ? limits.perMinute : limits.perHour);

  return {
    get refusals() {
      return refusals;
    },
    take(keyId, limits, now = Date.now(), count = 1) {
      const u = usageOf(keyId, now);
      u.lastUsed = now;
      const over = WINDOWS.find((w) => used(u[w.name]) + count > limitOf(limits, w.name));
      if (!over) for (const w of WINDOWS) u[w.name].pending += count;
      else refusals += 1;
      // Report the refusing window, else the one with the fewest requests left (the shorter on a tie).
      let report: (typeof WINDOWS)[number] = over ?? WINDOWS[0];
      if (!over) {
        for (const w of WINDOWS) {
          if (limitOf(limits, w.name) - used(u[w.name]) < limitOf(limits, report.name) - used(u[report.name])) report = w;
        }
      }
      const limit = limitOf(limits, report.name);
      return {
        allowed: !over,
        window: report.name,
        limit,
        remaining: Math.max(0, limit - used(u[report.name])),
        resetSeconds: secondsUntilReset(now, report.seconds),
        policy: WINDOWS.map((w) => ({ limit: limitOf(limits, w.name), seconds: w.seconds })),
      };
    },

    untake(keyId, now = Date.now()) {
      const u = usage.get(keyId);
      if (!u) return false;
      for (const w of WINDOWS) roll(u[w.name], windowStart(now, w.seconds));
      if (WINDOWS.some((w) => u[w.name].pending === 0)) return false;
      for (const w of WINDOWS) u[w.name].pending -= 1;
      return true;
    },

    drain(now = Date.now()) {
      const starts = Object.fromEntries(WINDOWS.map((w) => [w.name, windowStart(now, w.seconds)])) as WindowTotals;
      const batch: UsageBatch = { starts, keyIds: [], deltas: { minute: [], hour: [] } };
      for (const [keyId, u] of usage) {
        for (const w of WINDOWS) roll(u[w.name], starts[w.name]);
        const pending = WINDOWS.some((w) => u[w.name].pending > 0);
        if (!pending && now - u.lastUsed > KEEP_FRESH_MS) {
          if (now - u.lastUsed > IDLE_DROP_MS && WINDOWS.every((w) => u[w.name].inflight === 0)) usage.delete(keyId);
          continue;
        }
        for (const w of WINDOWS) {
          const c = u[w.name];
          batch.deltas[w.name].push(c.pending);
          c.inflight += c.pending;
          c.pending = 0;
        }
        batch.keyIds.push(keyId);
      }
      return batch;
    },

    settle(batch, totals) {
      batch.keyIds.forEach((keyId, i) => {
        const u = usage.get(keyId);
        if (!u) return;
        for (const w of WINDOWS) {
          const c = u[w.name];
          // The window moved on while the flush ran: nothing of the old one is worth keeping.
          if (c.start !== batch.starts[w.name]) continue;
          const delta = batch.deltas[w.name][i] ?? 0;
          c.inflight -= delta;
          const total = totals?.[w.name][i];
          if (totals === undefined) c.pending += delta; // failed flush: send these again next time
          else if (total !== undefined) c.synced = total;
        }
      });
    },
  };
}
