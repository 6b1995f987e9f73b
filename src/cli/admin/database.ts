import type { Config } from '../../config.js';
import { runningEmbeddedUrl } from '../../db/embedded-attach.js';
import { startEmbeddedPostgres } from '../../db/embedded.js';
import { runMigrations } from '../../db/migrate.js';
import { createPool, type Pool } from '../../db/pool.js';
import type { Logger } from '../../log.js';

/**
 * The database the server uses: DATABASE_URL when set. Without it, the embedded PostgreSQL in
 * DATA_DIR: attached to when a server is running on it, otherwise started for the command's
 * duration (and migrated, as `npm start` would) and stopped again.
 */
export async function openAdminDatabase(config: Config, log: Logger): Promise<{ pool: Pool; close(): Promise<void> }> {
  if (config.databaseUrl) return withPool(config.databaseUrl);
  const running = await runningEmbeddedUrl(config.dataDir);
  if (running) return withPool(running);
  const embedded = await startEmbeddedPostgres(config.dataDir, log);
  try {
    await runMigrations(embedded.url);
  } catch (err) {
    await embedded.stop();
    throw err;
  }
  const opened = withPool(embedded.url);
  return {
    pool: opened.pool,
    async close() {
      await opened.close();
      await embedded.stop();
    },
  };
}

function withPool(url: string): { pool: Pool; close(): Promise<void> } {
  const pool = createPool(url, 2);
  return { pool, close: () => pool.end() };
}
