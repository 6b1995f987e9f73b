/**
 * Entry point of a second server process for multi-instance tests: starts the app exactly as
 * test/support/app.ts does (buildApp against a real database, 127.0.0.1 on a random port),
 * prints `{"url": …}` as one JSON line on stdout, and shuts down cleanly on SIGTERM.
 *
 * Configuration comes as JSON in APP_PROCESS_CONFIG: { databaseUrl, encryptionKey (base64)?,
 * providers?, limits? }. Spawn it with spawnAppProcess (./spawn-app.ts).
 */
import { startApp } from './app.js';

interface AppProcessConfig {
  databaseUrl: string;
  encryptionKey?: string;
  providers?: unknown[];
  limits?: Record<string, number>;
}

const config = JSON.parse(process.env.APP_PROCESS_CONFIG ?? 'null') as AppProcessConfig | null;
if (!config?.databaseUrl) {
  process.stderr.write('APP_PROCESS_CONFIG must be JSON with at least { "databaseUrl": … }\n');
  process.exit(2);
}

const app = await startApp({
  databaseUrl: config.databaseUrl,
  providers: config.providers ?? [],
  ...(config.encryptionKey ? { encryptionKey: Buffer.from(config.encryptionKey, 'base64') } : {}),
  ...(config.limits ? { limits: config.limits } : {}),
});
process.stdout.write(`${JSON.stringify({ url: app.url })}\n`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await app.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The parent test dying must not leave this server behind.
process.on('disconnect', () => void stop());
