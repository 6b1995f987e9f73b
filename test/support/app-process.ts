/**
 * The app in a process of its own, for tests that need several real instances on one database.
 *
 *   APP_CONFIG='{"databaseUrl":"postgres://…","encryptionKey":"<base64 of 32 bytes>","providers":[…],"usageFlushMs":100}' \
 *     node --import tsx test/support/app-process.ts
 *
 * Listens on 127.0.0.1:<random port> (PUBLIC_URL is that address), prints `{"url":"http://127.0.0.1:…"}`
 * as one line on stdout, logs JSON to stderr, and on SIGTERM/SIGINT drains, flushes tool usage and
 * exits 0. `${NAME}` in providers is read from this process's environment, as in a providers file.
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
  providers?: unknown[];
  usageFlushMs?: number;
  limits?: Partial<UpstreamLimits>;
  logLevel?: string;
}

const config = JSON.parse(process.env.APP_CONFIG ?? 'null') as AppProcessConfig | null;
if (!config?.databaseUrl || !config.encryptionKey) {
  process.stderr.write('APP_CONFIG must be JSON with databaseUrl and encryptionKey (base64 of 32 bytes)\n');
  process.exit(2);
}

const server = http.createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const log = createLogger(config.logLevel ?? 'info', process.stderr);
const registry = createRegistry(parseProviders({ providers: config.providers ?? [] }, process.env));
const pool = createPool(config.databaseUrl);
const cipher = createCipher(Buffer.from(config.encryptionKey, 'base64'));
const app = buildApp({
  config: { publicUrl: url },
  pool,
  cipher,
  registry,
  log,
  ...(config.usageFlushMs ? { usageFlushMs: config.usageFlushMs } : {}),
  ...(config.limits ? { limits: config.limits } : {}),
});
server.on('request', app);
process.stdout.write(`${JSON.stringify({ url })}\n`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.closeIdleConnections();
  await new Promise((resolve) => server.close(resolve));
  await app.close();
  await pool.end();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
