import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it, type TestContext } from 'node:test';
import { deleteExpiredStates, hashState } from '../../src/connections/state-store.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { startHousekeeping } from '../../src/housekeeping.js';
import { createLogger } from '../../src/log.js';
import { bearer, register, startAppWithUpstream } from '../support/app.js';
import { authorizeInBrowser } from '../support/browser.js';
import { eventually } from '../support/time.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

describe('expired OAuth states are cleaned up', () => {
  let f: Fixture;
  before(async () => {
    f = await startAppWithUpstream();
  });
  after(() => f.close());

  async function startFlow(apiKey: string): Promise<{ authorization_url: string; state: string }> {
    const res = await fetch(`${f.app.url}/api/connect/acme/start`, { headers: bearer(apiKey) });
    assert.equal(res.status, 200);
    return (await res.json()) as { authorization_url: string; state: string };
  }
  const expire = (state: string) => f.app.pool.query(`UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE state_hash = $1`, [hashState(state)]);
  const stored = async (state: string) =>
    (await f.app.pool.query('SELECT 1 FROM oauth_states WHERE state_hash = $1', [hashState(state)])).rowCount === 1;

  /** Two instances' worth of database pools, closed after the test. */
  function twoInstances(t: TestContext): [Pool, Pool] {
    const pools: [Pool, Pool] = [createPool(f.db.url, 3), createPool(f.db.url, 3)];
    t.after(() => Promise.all(pools.map((pool) => pool.end())));
    return pools;
  }

  it('periodically, by several instances at once, while links still valid keep working', async (t) => {
    const { apiKey } = await register(f.app, 'alice');
    const live = await startFlow(apiKey);
    const stale = await startFlow(apiKey);
    await expire(stale.state);

    const problems: string[] = [];
    const sink = new Writable({
      write(line: Buffer, _enc, done) {
        problems.push(line.toString());
        done();
      },
    });
    const log = createLogger('warn', sink);
    const sweepers = twoInstances(t).map((pool) => startHousekeeping(pool, log, { intervalMs: 100 }));
    t.after(() => Promise.all(sweepers.map((s) => s.stop())));

    await eventually(async () => !(await stored(stale.state)));
    // Not only at start-up: a link that expires later goes too.
    const later = await startFlow(apiKey);
    await expire(later.state);
    await eventually(async () => !(await stored(later.state)));
    assert.equal(await stored(live.state), true, 'a link still valid is kept');
    assert.deepEqual(problems, []);

    const done = await authorizeInBrowser(live.authorization_url, 'alice', apiKey);
    assert.equal(done.status, 200, done.body);
    // A swept link cannot even be confirmed: its page says so.
    const refused = await fetch(stale.authorization_url);
    assert.equal(refused.status, 404);
    assert.match(await refused.text(), /unknown, has expired/);
  });

  it('a large backlog swept by two instances at once is deleted exactly once, without errors', async (t) => {
    const { userId } = await register(f.app, 'bob');
    const { apiKey } = await register(f.app, 'carol');
    const live = await startFlow(apiKey);
    await f.app.pool.query(
      `INSERT INTO oauth_states (state_hash, user_id, provider_id, expires_at)
       SELECT sha256(convert_to('backlog ' || g, 'UTF8')), $1, 'acme', now() - interval '1 minute' FROM generate_series(1, 2500) g`,
      [userId],
    );

    const [one, two] = twoInstances(t);
    const [byOne, byTwo] = await Promise.all([deleteExpiredStates(one), deleteExpiredStates(two)]);

    assert.equal(byOne + byTwo, 2500, `deleted ${byOne} + ${byTwo}`);
    const { rows } = await f.app.pool.query(`SELECT count(*)::int AS n FROM oauth_states WHERE expires_at <= now()`);
    assert.deepEqual(rows, [{ n: 0 }]);
    assert.equal(await stored(live.state), true);
  });
});
