import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { usageCommand } from '../../src/cli/admin/usage.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { utcDay } from '../../src/usage/days.js';
import { usageReport } from '../../src/usage/usage-store.js';
import { insertUser } from '../../src/users/user-store.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('operator usage report across users (npm run admin -- usage)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let ada: string;
  let bea: string;
  const today = utcDay(new Date());

  before(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url);
    ada = (await insertUser(pool, 'Ada')).id;
    bea = (await insertUser(pool, null)).id;
    const rows: Array<[string, string, string, string, number, number]> = [
      [ada, '2024-03-01', 'hitl', 'hitl_whoami', 5, 1],
      [ada, '2024-03-02', 'acme', 'whoami', 2, 0],
      [bea, '2024-03-01', 'hitl', 'hitl_whoami', 7, 0],
      [bea, '2024-02-29', 'hitl', 'hitl_echo', 1, 1],
      [bea, today, 'hitl', 'hitl_echo', 3, 0],
    ];
    for (const row of rows) {
      await pool.query('INSERT INTO tool_usage (user_id, day, provider_id, tool, ok, error) VALUES ($1, $2, $3, $4, $5, $6)', row);
    }
  });
  after(async () => {
    await pool.end();
    await db.drop();
  });

  it('usageReport lists every user’s counters in the range, by day then user, with names', async () => {
    const lines = await usageReport(pool, { from: '2024-03-01', to: '2024-03-02' });
    const adaLine = { day: '2024-03-01', user_id: ada, user_name: 'Ada', provider: 'hitl', tool: 'hitl_whoami', ok: 5, error: 1 };
    const beaLine = { day: '2024-03-01', user_id: bea, user_name: null, provider: 'hitl', tool: 'hitl_whoami', ok: 7, error: 0 };
    assert.deepEqual(lines, [
      // Within a day, users come in id order.
      ...(ada < bea ? [adaLine, beaLine] : [beaLine, adaLine]),
      { day: '2024-03-02', user_id: ada, user_name: 'Ada', provider: 'acme', tool: 'whoami', ok: 2, error: 0 },
    ]);
  });

  it('usageReport filters by user and by provider', async () => {
    const range = { from: '2024-01-01', to: today };
    assert.deepEqual(
      (await usageReport(pool, { ...range, userId: bea })).map((l) => [l.day, l.tool, l.ok]),
      [
        ['2024-02-29', 'hitl_echo', 1],
        ['2024-03-01', 'hitl_whoami', 7],
        [today, 'hitl_echo', 3],
      ],
    );
    assert.deepEqual(
      (await usageReport(pool, { ...range, providerId: 'acme' })).map((l) => [l.user_id, l.tool]),
      [[ada, 'whoami']],
    );
  });

  it('the command prints a table and a total, or JSON lines', async () => {
    const out: string[] = [];
    const code = await usageCommand.run({ pool, out: (line) => out.push(line) }, ['--from', '2024-03-01', '--to', '2024-03-02', '--provider', 'hitl']);
    assert.equal(code, 0);
    assert.match(out[0] ?? '', /^day\s+user\s+name\s+provider\s+tool\s+ok\s+error$/);
    assert.equal(out.length, 4);
    assert.ok(out.some((l) => l.includes(ada) && l.includes('Ada') && /hitl_whoami\s+5\s+1$/.test(l)));
    assert.equal(out.at(-1), '2024-03-01 to 2024-03-02: 13 calls (12 ok, 1 error) by 2 users');

    const json: string[] = [];
    assert.equal(await usageCommand.run({ pool, out: (line) => json.push(line) }, ['--user', bea, '--json']), 0);
    assert.deepEqual(json.map((l) => JSON.parse(l)), [{ day: today, user_id: bea, user_name: null, provider: 'hitl', tool: 'hitl_echo', ok: 3, error: 0 }]);
  });

  it('the command refuses bad arguments with exit code 2 and its usage', async () => {
    for (const args of [['--from', '2024-02-30'], ['--from', '2024-03-02', '--to', '2024-03-01'], ['--user', 'bea'], ['--nope'], ['extra']]) {
      const out: string[] = [];
      assert.equal(await usageCommand.run({ pool, out: (line) => out.push(line) }, args), 2, args.join(' '));
      assert.match(out.join('\n'), /npm run admin -- usage/);
    }
  });
});
