import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AppProcessConfig } from './app-process.js';

/** An app instance running in its own OS process (see app-process.ts). */
export interface AppProcess {
  url: string;
  pid: number;
  /** Everything the process wrote to stderr (its log lines), for diagnosing a failure. */
  stderr(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. Safe to call twice. */
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./app-process.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 30_000;

/** Starts `node --import tsx test/support/app-process.ts` and resolves once it is listening. */
export async function spawnApp(config: AppProcessConfig): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: REPO_ROOT,
    env: { ...process.env, APP_PROCESS_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    const url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`app process not ready after ${READY_TIMEOUT_MS} ms:\n${stderr}`)), READY_TIMEOUT_MS);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const match = /^listening (\S+)\n/.exec(stdout);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`app process exited (${signal ?? code}) before it was ready:\n${stderr}`));
      });
    });
    return { url, pid: child.pid as number, stderr: () => stderr, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
