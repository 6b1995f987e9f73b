import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AppProcessConfig } from './app-process.js';

export type { AppProcessConfig };

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = fileURLToPath(new URL('./app-process.ts', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/** An app instance in its own OS process (see app-process.ts). */
export interface AppProcess {
  url: string;
  pid: number;
  /** Everything the process wrote to stderr (its JSON log lines), so far. */
  stderr(): string;
  /** SIGTERM, then wait for the exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** kill -9: no drain, no last writes, open transactions left to PostgreSQL. Resolves once it has exited. */
  crash(): Promise<void>;
}


/** Starts `node --import tsx test/support/app-process.ts` and waits for the URL it prints. */
export async function spawnApp(config: AppProcessConfig, env: Record<string, string> = {}): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: ROOT,
    env: { ...process.env, ...env, APP_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await readUrl(child, exited, () => stderr);
    return {
      url,
      pid: child.pid as number,
      stderr: () => stderr,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        // A process that does not exit after a graceful stop must not outlive the test run.
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const code = await exited;
        clearTimeout(killer);
        return code;
      },
      async crash() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

function readUrl(child: ChildProcess, exited: Promise<number | null>, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`app process printed no URL within ${READY_TIMEOUT_MS} ms:\n${stderr()}`)), READY_TIMEOUT_MS);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`app process exited with ${code} before printing its URL:\n${stderr()}`));
    });
  });
}
