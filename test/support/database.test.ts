import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { adminUrl, createTestDatabase, currentTemplateName } from './database.js';

async function query<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function databaseExists(url: string): Promise<boolean> {
  const name = new URL(url).pathname.slice(1);
  const rows = await query<{ n: number }>(adminUrl(), 'SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [name]);
  return rows[0]?.n === 1;
}

test('test databases are migrated clones that do not share data, and drop() removes them', async (t) => {
  const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  t.after(() => Promise.all([a.drop(), b.drop()]));
  assert.notEqual(a.url, b.url);

  for (const db of [a, b]) {
    const [row] = await query<{ users: string | null; applied: number }>(
      db.url,
      `SELECT to_regclass('public.users')::text AS users, (SELECT count(*)::int FROM pgmigrations) AS applied`,
    );
    assert.equal(row?.users, 'users');
    assert.ok((row?.applied ?? 0) > 0);
  }

  await query(a.url, `INSERT INTO users (name) VALUES ('only in a')`);
  assert.deepEqual(await query(a.url, 'SELECT name FROM users'), [{ name: 'only in a' }]);
  assert.deepEqual(await query(b.url, 'SELECT name FROM users'), []);

  await a.drop();
  await b.drop();
  assert.equal(await databaseExists(a.url), false);
  assert.equal(await databaseExists(b.url), false);
});

// Other checkouts (other migrations) running tests on the same server keep templates of their
// own, so this checks ours rather than counting every template on the server.
test('the template is named after the migrations hash and no half-built one is left', async (t) => {
  const db = await createTestDatabase();
  t.after(() => db.drop());
  const ours = await currentTemplateName();
  assert.match(ours, /^mcp_proxy_tmpl_[0-9a-f]{8}$/);
  const templates = await query<{ datname: string }>(
    adminUrl(),
    `SELECT datname FROM pg_database WHERE datname LIKE 'mcp\\_proxy\\_tmpl\\_%'`,
  );
  assert.ok(templates.some((row) => row.datname === ours), JSON.stringify(templates));
  assert.ok(!templates.some((row) => row.datname === `${ours}_building`), 'a scratch template was left behind');
});
