/**
 * Entry point that runs one app instance as its own OS process, for tests that need several
 * servers on one database (locks that must hold across processes, not just inside one).
 *
 * Configuration is JSON in the APP_PROCESS_CONFIG environment variable (see AppProcessConfig).
 * The process listens on 127.0.0.1 at a random port, writes `listening <url>` as its first
 * stdout line, logs to stderr, and exits cleanly on SIGTERM.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import { createCipher } from '../../src/crypto/cipher.js';
import { createPool } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import type { UpstreamLimits } from '../../src/outbound/limits.js';
import { parseProviders } from '../../src/providers/load.js';
import { createRegistry } from '../../src/providers/registry.js';

/** What a spawned app is told; everything a shared deployment would have in common. */
export interface AppProcessConfig {
  databaseUrl: string;
  /** base64 of the 32-byte key every instance of the deployment shares. */
  encryptionKey: string;
  /** Raw providers, as in a providers file. */
  providers: unknown[];
  limits?: Partial<UpstreamLimits>;
  logLevel?: string;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.APP_PROCESS_CONFIG ?? '') as AppProcessConfig;
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const log = createLogger(config.logLevel ?? 'warn', process.stderr);
  const registry = createRegistry(parseProviders({ providers: config.providers }, process.env));
  const pool = createPool(config.databaseUrl);
  const cipher = createCipher(Buffer.from(config.encryptionKey, 'base64'));
  server.on('request', buildApp({ config: { publicUrl: url }, pool, cipher, registry, log, ...(config.limits ? { limits: config.limits } : {}) }));

  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => void pool.end().finally(() => process.exit(0)));
  });
  process.stdout.write(`listening ${url}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`app process failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
