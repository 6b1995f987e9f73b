/**
 * The app in a process of its own, for tests that need several real instances on one database
 * (locks, caches and counters that must hold across processes, not just inside one).
 *
 *   APP_CONFIG='{"databaseUrl":"postgres://…","encryptionKey":"<base64 of 32 bytes>","providers":[…]}' \
 *     node --import tsx test/support/app-process.ts
 *
 * Starts the app exactly as test/support/app.ts does (buildApp, 127.0.0.1 on a random port,
 * PUBLIC_URL that address), prints `{"url":"http://127.0.0.1:…"}` as one line on stdout, logs
 * JSON to stderr, and on SIGTERM/SIGINT drains, writes its pending counts and exits 0.
 * `${NAME}` in providers is read from this process's environment, as in a providers file.
 * Spawn it with spawnApp (./spawn-app.ts).
 */
import { Writable } from 'node:stream';
import type { AppDeps } from '../../src/app.js';
import { startApp } from './app.js';

/** What a spawned app is told; everything a shared deployment would have in common. */
export interface AppProcessConfig {
  databaseUrl: string;
  /** base64 of the 32-byte key every instance of the deployment shares. */
  encryptionKey: string;
  /** base64 of further keys that still decrypt (as later entries of ENCRYPTION_KEYS would). */
  previousKeys?: string[];
  /** Raw providers, as in a providers file. */
  providers?: unknown[];
  usageFlushMs?: number;
  limits?: AppDeps['limits'];
  /** A fixed port (default: a random one), so a process restarted after kill -9 keeps its URL. */
  port?: number;
  /** PUBLIC_URL, when the instances sit behind one address (a load balancer); default their own. */
  publicUrl?: string;
}

const config = JSON.parse(process.env.APP_CONFIG ?? 'null') as AppProcessConfig | null;
if (!config?.databaseUrl || !config.encryptionKey) {
  process.stderr.write('APP_CONFIG must be JSON with databaseUrl and encryptionKey (base64 of 32 bytes)\n');
  process.exit(2);
}

const app = await startApp({
  databaseUrl: config.databaseUrl,
  encryptionKey: Buffer.from(config.encryptionKey, 'base64'),
  previousKeys: (config.previousKeys ?? []).map((k) => Buffer.from(k, 'base64')),
  providers: config.providers ?? [],
  ...(config.usageFlushMs ? { usageFlushMs: config.usageFlushMs } : {}),
  ...(config.limits ? { limits: config.limits } : {}),
  ...(config.port ? { port: config.port } : {}),
  ...(config.publicUrl ? { publicUrl: () => config.publicUrl as string } : {}),
  logTo: new Writable({
    write(chunk: Buffer, _encoding, done) {
      process.stderr.write(chunk, () => done());
    },
  }),
});
process.stdout.write(`${JSON.stringify({ url: app.url })}\n`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await app.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
