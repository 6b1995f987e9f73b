import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createPool, type Pool, type Queryable } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import { createUsageRecorder } from '../../src/usage/usage-recorder.js';
import { insertUser } from '../../src/users/user-store.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const logs: string[] = [];
const log = createLogger(
  'debug',
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  }),
);

describe('usage recorder: in-memory counters, one batched upsert per flush', () => {
  let db: TestDatabase;
  let pool: Pool;
  before(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url);
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  const counts = async (userId: string) =>
    (
      await pool.query<{ day: string; tool: string; ok: number; error: number }>(
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, tool, ok, error FROM tool_usage WHERE user_id = $1 ORDER BY day, tool`,
        [userId],
      )
    ).rows;

  it('writes nothing until a flush, then everything in one statement', async () => {
    const { id } = await insertUser(pool, 'one');
    const statements: string[] = [];
    const spy: Queryable = { query: ((text: string, values: unknown[]) => (statements.push(text), pool.query(text, values))) as Queryable['query'] };
    const usage = createUsageRecorder({ db: spy, log, now: () => new Date('2024-05-01T12:00:00Z') });
    for (let i = 0; i < 500; i++) usage.record({ userId: id, providerId: 'p', tool: `t${i % 5}`, ok: i % 10 !== 0 });
    assert.equal(statements.length, 0);
    await usage.flush();
    assert.equal(statements.length, 1);
    assert.deepEqual(await counts(id), [
      { day: '2024-05-01', tool: 't0', ok: 50, error: 50 },
      { day: '2024-05-01', tool: 't1', ok: 100, error: 0 },
      { day: '2024-05-01', tool: 't2', ok: 100, error: 0 },
      { day: '2024-05-01', tool: 't3', ok: 100, error: 0 },
      { day: '2024-05-01', tool: 't4', ok: 100, error: 0 },
    ]);
    await usage.flush();
    assert.equal(statements.length, 1, 'an empty flush costs nothing');
  });

  it('a call belongs to the UTC day it was made on', async () => {
    const { id } = await insertUser(pool, 'midnight');
    let now = new Date('2024-12-31T23:59:59.999Z');
    const usage = createUsageRecorder({ db: pool, log, now: () => now });
    usage.record({ userId: id, providerId: 'p', tool: 't', ok: true });
    now = new Date('2025-01-01T00:00:00.000Z');
    usage.record({ userId: id, providerId: 'p', tool: 't', ok: false });
    await usage.flush();
    assert.deepEqual(await counts(id), [
      { day: '2024-12-31', tool: 't', ok: 1, error: 0 },
      { day: '2025-01-01', tool: 't', ok: 0, error: 1 },
    ]);
  });

  it('a failed flush keeps its counts for the next one', async () => {
    const { id } = await insertUser(pool, 'outage');
    let down = true;
    const flaky: Queryable = {
      query: ((text: string, values: unknown[]) => (down ? Promise.reject(new Error('connection terminated')) : pool.query(text, values))) as Queryable['query'],
    };
    const usage = createUsageRecorder({ db: flaky, log });
    usage.record({ userId: id, providerId: 'p', tool: 't', ok: true });
    usage.record({ userId: id, providerId: 'p', tool: 't', ok: true });
    await usage.flush();
    assert.deepEqual(await counts(id), []);
    assert.ok(logs.some((l) => l.includes('could not write tool usage; will retry')));
    usage.record({ userId: id, providerId: 'p', tool: 't', ok: false });
    down = false;
    await usage.flush();
    assert.deepEqual((await counts(id)).map(({ ok, error }) => ({ ok, error })), [{ ok: 2, error: 1 }]);
  });

  it('counts of a user deleted before the flush are dropped without losing the others', async () => {
    const { id: gone } = await insertUser(pool, 'gone');
    const { id: kept } = await insertUser(pool, 'kept');
    const usage = createUsageRecorder({ db: pool, log });
    usage.record({ userId: gone, providerId: 'p', tool: 't', ok: true });
    usage.record({ userId: kept, providerId: 'p', tool: 't', ok: true });
    await pool.query('DELETE FROM users WHERE id = $1', [gone]);
    await usage.flush();
    assert.equal((await counts(kept)).length, 1);
    assert.deepEqual(await counts(gone), []);
  });

  it('two instances flushing the same counters at once add up, none lost', async () => {
    const { id } = await insertUser(pool, 'shared');
    const [a, b] = [createUsageRecorder({ db: pool, log }), createUsageRecorder({ db: pool, log })];
    for (let round = 0; round < 20; round++) {
      for (const usage of [a, b]) {
        for (let t = 0; t < 10; t++) usage.record({ userId: id, providerId: 'p', tool: `t${t}`, ok: true });
      }
      await Promise.all([a.flush(), b.flush()]);
    }
    const rows = await counts(id);
    assert.equal(rows.length, 10);
    assert.ok(rows.every((r) => r.ok === 40), JSON.stringify(rows));
  });

  it('flushes on its timer once started, and stop() writes what is left', async () => {
    const { id } = await insertUser(pool, 'timer');
    const usage = createUsageRecorder({ db: pool, log, flushIntervalMs: 20 });
    usage.start();
    usage.record({ userId: id, providerId: 'p', tool: 't', ok: true });
    const deadline = Date.now() + 5_000;
    while ((await counts(id)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual((await counts(id)).map((r) => r.ok), [1], 'the timer flushed');
    usage.record({ userId: id, providerId: 'p', tool: 't', ok: true });
    await usage.stop();
    assert.deepEqual((await counts(id)).map((r) => r.ok), [2], 'stop() flushed the rest');
  });
});
