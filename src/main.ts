import http from 'node:http';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { configuredCipher } from './crypto/configured-cipher.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { runMigrations } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { isDatabaseUnavailable } from './db/unavailable.js';
import { startHousekeeping } from './housekeeping.js';
import { createHttpServer } from './http/server.js';
import { decideDemo, DEMO_PROVIDER_ID, demoProvider, selfUrl } from './demo/demo-provider.js';
import { connectIdp } from './idp/idp.js';
import { metricsListener } from './http/routes/metrics.js';
import { createLogger } from './log.js';
import { loadProviders, ProvidersFileError } from './providers/load.js';
import { createRegistry } from './providers/registry.js';
import { signInWarnings } from './providers/sign-in-providers.js';

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
    const configured = await loadProviders(config.providersFile, process.env, (message) => log.warn(message));
    const demo = decideDemo(config.demo, config.env, configured.length);
    log.info({ demo: demo.enabled }, demo.reason);
    if (demo.enabled && configured.some((p) => p.id === DEMO_PROVIDER_ID)) {
      throw new Error(`DEMO=true, but a configured provider already has the id "${DEMO_PROVIDER_ID}": rename it or unset DEMO`);
    }
    const all = demo.enabled ? [...configured, demoProvider(config.publicUrl, selfUrl(config.host, config.port))] : configured;
    providers = createRegistry(all);
  } catch (err) {
    log.fatal(err instanceof ProvidersFileError ? err.message : (err as Error).message);
    process.exit(1);
  }
  const demoOn = providers.providers.some((p) => p.auth === 'oauth2' && p.demo);

  if (providers.providers.length === 0) {
    // Not an error (the web page, keys and OAuth endpoints work), but /mcp would list no tools.
    log.warn('no providers configured, so MCP clients will see no tools: set OWNERREZ_CLIENT_ID and OWNERREZ_CLIENT_SECRET for the OwnerRez preset, or PROVIDERS_FILE (see docs/providers.md)');
  }

  for (const warning of signInWarnings(providers.providers)) log.warn(warning);
  let idp;
  if (config.idp) {
    try {
      idp = await connectIdp(config.idp);
    } catch (err) {
      log.fatal((err as Error).message);
      process.exit(1);
    }
    log.info({ issuer: idp.settings.issuer, audience: idp.settings.audience, login: Boolean(idp.settings.client) }, 'identity provider connected');
  }

  const cipher = await configuredCipher(config, log);

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    // Loaded only when used. The database must outlive the graceful shutdown below (its last
    // writes), so signals do not stop it: the shutdown does, last (db/embedded.ts, db/postmaster.ts).
    const { startEmbeddedPostgres } = await import('./db/embedded.js');
    embedded = await startEmbeddedPostgres(config.dataDir, log, { stopOnSignal: false });
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

  const limits = {
    keyPerMinute: config.keyRateLimit.perMinute,
    keyPerHour: config.keyRateLimit.perHour,
    callTimeoutMs: config.toolCalls.timeoutMs,
    toolCallsInFlightPerUser: config.toolCalls.inFlightPerUser,
    toolCallsInFlightPerKey: config.toolCalls.inFlightPerKey,
  };
  const app = buildApp({ config, pool, cipher, registry: providers, log, limits, ...(demoOn ? { demo: {} } : {}), idp });
  // Timeouts on purpose (slow clients, load balancers' keep-alive): see src/http/server.ts.
  const server = createHttpServer();
  server.on('request', app);
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
    log.info('stopped');
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
