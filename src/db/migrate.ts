import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Queryable } from './pool.js';

/** Migrations ship as plain SQL beside src/ and dist/, so both the dev and the built server find them. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
const MIGRATIONS_TABLE = 'pgmigrations';

/**
 * Applies pending migrations, each exactly once even when several instances boot together
 * (node-pg-migrate holds an advisory lock while it runs).
 */
export async function runMigrations(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<void> {
  await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: MIGRATIONS_TABLE,
    checkOrder: true,
    singleTransaction: true,
    // Several instances booting at once queue behind the lock instead of failing.
    advisoryLockMode: 'wait',
    logger: { debug: () => undefined, info: log, warn: log, error: log },
  });
}

/** True when every migration file has been applied (for /readyz). */
export async function migrationsApplied(db: Queryable): Promise<boolean> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).map((f) => f.replace(/\.sql$/, ''));
  const { rows } = await db.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`);
  const applied = new Set(rows.map((r) => r.name));
  return files.every((f) => applied.has(f));
}
