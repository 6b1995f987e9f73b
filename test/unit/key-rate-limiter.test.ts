import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKeyRateLimiter, type KeyRateLimiter, type SyncedTotals, type UsageBatch, type WindowTotals } from '../../src/limits/key-rate-limiter.js';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 10); // 10 s into a minute, 10 s into an hour
const LIMITS = { perMinute: 5, perHour: 100 };

function takeN(limiter: KeyRateLimiter, n: number, now = T0, key = 'k'): boolean[] {
  return Array.from({ length: n }, () => limiter.take(key, LIMITS, now).allowed);
}

/** The totals a sync reads back for `batch`, from one total per key (aligned as the statement answers). */
function answer(batch: UsageBatch, totals: Record<string, WindowTotals>): SyncedTotals {
  return { minute: batch.keyIds.map((k) => totals[k]?.minute ?? 0), hour: batch.keyIds.map((k) => totals[k]?.hour ?? 0) };
}

/** A database of window rows shared by simulated instances, flushed like the real sync statement. */
function sharedStore() {
  const rows = new Map<string, number>();
  return {
    flush(limiter: KeyRateLimiter, now: number) {
      const batch = limiter.drain(now);
      const totals: SyncedTotals = { minute: [], hour: [] };
      batch.keyIds.forEach((keyId, i) => {
        for (const name of ['minute', 'hour'] as const) {
          const id = `${keyId}/${name}/${batch.starts[name]}`;
          rows.set(id, (rows.get(id) ?? 0) + (batch.deltas[name][i] ?? 0));
          (totals[name] as number[]).push(rows.get(id) ?? 0);
        }
      });
      limiter.settle(batch, totals);
    },
  };
}

test('one instance admits exactly the limit per window, then resets with the window', () => {
  const limiter = createKeyRateLimiter();
  assert.deepEqual(takeN(limiter, 7), [true, true, true, true, true, false, false]);
  const refused = limiter.take('k', LIMITS, T0);
  assert.equal(refused.window, 'minute');
  assert.equal(refused.remaining, 0);
  assert.equal(refused.resetSeconds, 50);
  assert.deepEqual(takeN(limiter, 1, T0 + 50_000), [true], 'a new minute');
});

test('the hour window refuses with the hour reset when it is the one exhausted', () => {
  const limiter = createKeyRateLimiter();
  const limits = { perMinute: 100, perHour: 2 };
  assert.ok(limiter.take('k', limits, T0).allowed);
  const second = limiter.take('k', limits, T0);
  assert.equal(second.window, 'hour', 'the window closest to its limit is reported');
  assert.equal(second.remaining, 0);
  const over = limiter.take('k', limits, T0 + 60_000);
  assert.equal(over.allowed, false);
  assert.equal(over.window, 'hour');
  assert.equal(over.resetSeconds, 3600 - 70);
  assert.deepEqual(over.policy, [
    { limit: 100, seconds: 60 },
    { limit: 2, seconds: 3600 },
  ]);
});

test('a failed flush keeps the counts for the next one; a successful one replaces them with the global total', () => {
  const limiter = createKeyRateLimiter();
  takeN(limiter, 3);
  const batch = limiter.drain(T0);
  assert.equal(batch.deltas.minute[0], 3);
  assert.deepEqual(takeN(limiter, 2), [true, true], 'in-flight counts still count');
  assert.equal(limiter.take('k', LIMITS, T0).allowed, false);
  limiter.settle(batch, undefined);
  const retry = limiter.drain(T0);
  assert.equal(retry.deltas.minute[0], 5, 'the 3 failed + the 2 new');
  limiter.settle(retry, answer(retry, { k: { minute: 5, hour: 5 } }));
  assert.equal(limiter.take('k', LIMITS, T0).allowed, false);
});

test('totals from other instances count against this one after a sync', () => {
  const limiter = createKeyRateLimiter();
  takeN(limiter, 1);
  const batch = limiter.drain(T0);
  limiter.settle(batch, answer(batch, { k: { minute: 4, hour: 4 } })); // 3 from elsewhere
  assert.deepEqual(takeN(limiter, 2), [true, false]);
});

test('keys idle for a minute are no longer synced, and nothing is sent for them', () => {
  const limiter = createKeyRateLimiter();
  takeN(limiter, 1);
  const first = limiter.drain(T0);
  limiter.settle(first, answer(first, { k: { minute: 1, hour: 1 } }));
  assert.equal(limiter.drain(T0 + 30_000).keyIds.length, 1, 'recently used: kept fresh with a zero delta');
  assert.equal(limiter.drain(T0 + 30_000).deltas.minute[0], 0);
  assert.equal(limiter.drain(T0 + 61_000).keyIds.length, 0);
});

test('N instances overshoot by at most (N − 1) × limit in a simultaneous burst, and not at all once synced', () => {
  const store = sharedStore();
  const instances = [createKeyRateLimiter(), createKeyRateLimiter(), createKeyRateLimiter()];
  const admitted = instances.map((l) => takeN(l, 10).filter(Boolean).length);
  assert.deepEqual(admitted, [5, 5, 5], 'each admits the full limit before any sync');
  for (const l of instances) store.flush(l, T0);
  for (const l of instances) store.flush(l, T0 + 1_000);
  for (const l of instances) assert.equal(l.take('k', LIMITS, T0 + 1_000).allowed, false);

  // Steady traffic, syncing every second: one request per instance per second.
  const steady = sharedStore();
  const fleet = [createKeyRateLimiter(), createKeyRateLimiter(), createKeyRateLimiter()];
  let total = 0;
  for (let s = 0; s < 40; s++) {
    for (const l of fleet) if (l.take('k', { perMinute: 20, perHour: 1000 }, T0 + s * 1000).allowed) total += 1;
    for (const l of fleet) steady.flush(l, T0 + s * 1000 + 500);
  }
  assert.ok(total >= 20 && total <= 20 + 2, `admitted ${total} of 20: over by at most (N − 1) × one interval's requests`);
});

test('several at once (a batch): all or nothing, and untake gives back one not yet sent', () => {
  const limiter = createKeyRateLimiter();
  assert.equal(limiter.take('k', LIMITS, T0).allowed, true);
  const tooMany = limiter.take('k', LIMITS, T0, 5);
  assert.equal(tooMany.allowed, false, '1 + 5 > 5');
  assert.equal(tooMany.remaining, 4, 'the refused ones took nothing');
  assert.equal(limiter.untake('k', T0), true);
  const fits = limiter.take('k', LIMITS, T0, 5);
  assert.equal(fits.allowed, true);
  assert.equal(fits.remaining, 0);
  assert.equal(limiter.take('k', LIMITS, T0).allowed, false);
  // Counts already handed to a flush are not taken back (they reach the database anyway).
  limiter.drain(T0);
  assert.equal(limiter.untake('k', T0), false);
  assert.equal(limiter.untake('unknown', T0), false);
});
