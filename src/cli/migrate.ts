import { loadConfig } from '../config.js';
import { runMigrations } from '../db/migrate.js';

/** `npm run migrate`: applies pending migrations to DATABASE_URL (used as Fly's release command). */
const config = loadConfig();
if (!config.databaseUrl) {
  process.stderr.write('DATABASE_URL is not set. (Without it, `npm start` migrates its embedded database itself.)\n');
  process.exit(1);
}
await runMigrations(config.databaseUrl, (msg) => process.stdout.write(`${msg}\n`));
process.stdout.write('migrations are up to date\n');
