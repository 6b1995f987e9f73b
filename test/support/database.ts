import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runMigrations } from '../../src/db/migrate.js';

/**
 * A fresh, fully migrated PostgreSQL database per test file.
 *
 * Migrating is slow and cloning is fast, so the migrations run once into a template database named
 * after a hash of the migration files; every test database is a `CREATE DATABASE … TEMPLATE` copy.
 * Changing a migration changes the hash, which builds a new template and retires the old ones.
 */

/** A database of its own for one test file. */
export interface TestDatabase {
  /** Connection string for the new database (same server and credentials as {@link adminUrl}). */
  url: string;
  /** Drops the database, ending any connections still open to it. */
  drop(): Promise<void>;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const TEMPLATE_PREFIX = 'mcp_proxy_tmpl_';
const DATABASE_PREFIX = 'mcp_proxy_test_';
/** Advisory-lock key shared by every test process that may build the template. */
const TEMPLATE_LOCK = 'mcp-oauth-proxy:test-template';

/** Connection string with rights to create databases: TEST_DATABASE_URL, else local trust-auth PostgreSQL. */
export function adminUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

let template: Promise<string> | undefined;

/** Every row of every table, as text: what someone with a database dump would see. */
export async function dumpDatabase(db: Pick<pg.Pool, 'query'>): Promise<string> {
  const { rows: tables } = await db.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
  let dump = '';
  for (const { tablename } of tables) {
    const { rows } = await db.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${ident(tablename)} t`);
    dump += rows.map((r) => r.row).join('\n');
  }
  return dump;
}

/** Clones the migrated template into a new, randomly named database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  template ??= ensureTemplate().catch((err: unknown) => {
    template = undefined;
    throw err;
  });
  const name = `${DATABASE_PREFIX}${randomBytes(6).toString('hex')}`;
  try {
    const source = await template;
    await withAdmin((admin) => admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(source)}`));
  } catch (err) {
    // The template vanished under us (dropped as stale by another run): build it again, once.
    if ((err as { code?: string }).code !== '3D000') throw err;
    template = ensureTemplate();
    const source = await template;
    await withAdmin((admin) => admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(source)}`));
  }
  return {
    url: databaseUrl(name),
    drop: async () => {
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
    },
  };
}

/** Returns the current template's name, building it first if no process has yet. */
async function ensureTemplate(): Promise<string> {
  const name = await templateName();
  return withAdmin(async (admin) => {
    // Test files run in parallel processes; the lock makes exactly one of them build the template
    // while the others wait and then find it ready.
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', [TEMPLATE_LOCK]);
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount === 0) await buildTemplate(admin, name);
      return name;
    } finally {
      await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [TEMPLATE_LOCK]);
    }
  });
}

async function buildTemplate(admin: pg.Client, name: string): Promise<void> {
  // Migrate under a scratch name and rename at the end: a failed or interrupted migration must
  // never leave a half-migrated database under the name later runs trust.
  const scratch = `${name}_building`;
  await admin.query(`DROP DATABASE IF EXISTS ${ident(scratch)} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${ident(scratch)}`);
  await runMigrations(databaseUrl(scratch));
  await admin.query(`ALTER DATABASE ${ident(scratch)} RENAME TO ${ident(name)}`);
  await admin.query(`COMMENT ON DATABASE ${ident(name)} IS ${admin.escapeLiteral(`built ${new Date().toISOString()}`)}`);

  // Other checkouts (branches with other migrations) may share this server and still use their
  // template, so only templates untouched for a day are retired.
  const stale = await admin.query<{ datname: string; note: string | null }>(
    `SELECT datname, shobj_description(oid, 'pg_database') AS note FROM pg_database WHERE datname LIKE $1 AND datname <> $2`,
    [`${TEMPLATE_PREFIX.replaceAll('_', '\\_')}%`, name],
  );
  const dayAgo = Date.now() - 24 * 60 * 60 * 1000;
  for (const { datname, note } of stale.rows) {
    const built = Date.parse(/^built (.+)$/.exec(note ?? '')?.[1] ?? '');
    if (!Number.isNaN(built) && built > dayAgo) continue;
    await admin.query(`DROP DATABASE IF EXISTS ${ident(datname)} WITH (FORCE)`);
  }
}

/** The template for the migrations in this checkout (other checkouts may keep theirs alongside). */
export async function templateName(): Promise<string> {
  return `${TEMPLATE_PREFIX}${await migrationsHash()}`;
}

/** First 8 hex digits of a SHA-256 over every migration's file name and contents, in order. */
async function migrationsHash(): Promise<string> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(await readFile(`${MIGRATIONS_DIR}${file}`));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 8);
}

async function withAdmin<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.href;
}

/** Our names are [a-z0-9_] only, but quoting keeps DDL built from strings safe by construction. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
