import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createPool, type Pool } from '../../src/db/pool.js';
import { startHousekeeping } from '../../src/housekeeping.js';
import { createLogger } from '../../src/log.js';
import { RETENTION_DEFAULTS } from '../../src/retention.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually } from '../support/time.js';

const AUDIT_BACKLOG = 2_500;

describe('retention: usage rows, audit events and expired OAuth artefacts', () => {
  let db: TestDatabase;
  let pool: Pool;
  let userId: string;

  before(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, 3);
    userId = ((await pool.query<{ id: string }>("INSERT INTO users (name) VALUES ('kept') RETURNING id")).rows[0] as { id: string }).id;
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  const count = async (sql: string, params: unknown[] = []): Promise<number> => Number((await pool.query<{ n: string }>(sql, params)).rows[0]?.n);

  /** Rows on both sides of each limit: 30-day usage/audit retention, 2 h past expiry for artefacts. */
  async function seed(): Promise<void> {
    await pool.query(
      `INSERT INTO tool_usage (user_id, day, provider_id, tool, ok) SELECT $1, (now() AT TIME ZONE 'UTC')::date - d, 'acme', 'whoami', 1 FROM generate_series(0, 59) d`,
      [userId],
    );
    await pool.query(`INSERT INTO audit_events (user_id, type, at) SELECT $1, 'old', now() - interval '31 days' FROM generate_series(1, $2::int)`, [userId, AUDIT_BACKLOG]);
    await pool.query(`INSERT INTO audit_events (user_id, type, at) VALUES ($1, 'recent', now() - interval '29 days')`, [userId]);
    for (const [age, label] of [['3 hours', 'long expired'], ['1 hour', 'just expired'], ['-10 minutes', 'live']] as const) {
      await pool.query(`INSERT INTO oauth_states (state_hash, user_id, provider_id, expires_at) VALUES ($1, $2, $3, now() - $4::interval)`, [randomBytes(32), userId, label, age]);
    }
  }

  it('every instance sweeps in batches; only rows past their retention go', async () => {
    await seed();
    const problems: string[] = [];
    const log = createLogger('warn', new Writable({ write: (line: Buffer, _e, done) => (problems.push(line.toString()), done()) }));
    const retention = { usageDays: 30, auditDays: 30, expiredHours: 2 };
    const pools = [createPool(db.url, 2), createPool(db.url, 2)];
    const sweepers = pools.map((p) => startHousekeeping(p, log, { intervalMs: 200, retention }));
    try {
      await eventually(async () => (await count("SELECT count(*) AS n FROM audit_events WHERE type = 'old'")) === 0, 10_000);
      await eventually(async () => (await count("SELECT count(*) AS n FROM oauth_states WHERE provider_id = 'long expired'")) === 0, 10_000);
    } finally {
      await Promise.all(sweepers.map((s) => s.stop()));
      await Promise.all(pools.map((p) => p.end()));
    }
    assert.deepEqual(problems, []);
    // Usage: today and the 30 days before it stay (UTC days), older days go.
    assert.equal(await count('SELECT count(*) AS n FROM tool_usage'), 31);
    assert.equal(await count("SELECT count(*) AS n FROM tool_usage WHERE day < (now() AT TIME ZONE 'UTC')::date - 30"), 0);
    assert.equal(await count("SELECT count(*) AS n FROM audit_events WHERE type = 'recent'"), 1);
    const states = (await pool.query<{ provider_id: string }>('SELECT provider_id FROM oauth_states ORDER BY provider_id')).rows.map((r) => r.provider_id);
    assert.deepEqual(states, ['just expired', 'live'], 'expired less than 2 h ago is kept, as is a live one');
  });

  it('0 days keeps usage and audit rows forever; the defaults are documented values', async () => {
    await pool.query(`INSERT INTO tool_usage (user_id, day, provider_id, tool, ok) VALUES ($1, '2001-01-01', 'acme', 'ancient', 1)`, [userId]);
    await pool.query(`INSERT INTO audit_events (user_id, type, at) VALUES ($1, 'ancient', '2001-01-01')`, [userId]);
    const sweeper = startHousekeeping(pool, createLogger('silent'), { retention: { usageDays: 0, auditDays: 0, expiredHours: 0 } });
    await sweeper.stop();
    assert.equal(await count("SELECT count(*) AS n FROM tool_usage WHERE tool = 'ancient'"), 1);
    assert.equal(await count("SELECT count(*) AS n FROM audit_events WHERE type = 'ancient'"), 1);
    assert.equal(await count("SELECT count(*) AS n FROM oauth_states WHERE provider_id = 'just expired'"), 0, 'expired artefacts go at once with 0 hours');
    assert.deepEqual(RETENTION_DEFAULTS, { usageDays: 400, auditDays: 365, expiredHours: 0 });
  });
});
