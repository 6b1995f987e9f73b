import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./app-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A server running in its own OS process (a second instance), against the same database. */
export interface AppProcess {
  url: string;
  /** Everything the process wrote (its JSON log lines among them). */
  output: string[];
  /** SIGTERM, then wait for exit (the app flushes its usage counts on the way out). */
  stop(): Promise<void>;
}

export async function spawnAppProcess(config: { databaseUrl: string; encryptionKey?: Buffer; providers?: unknown[]; limits?: Record<string, number> }): Promise<AppProcess> {
  const env = {
    ...process.env,
    APP_PROCESS_CONFIG: JSON.stringify({ ...config, encryptionKey: config.encryptionKey?.toString('base64') }),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const output: string[] = [];
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => fail(new Error('the app process did not start within 30 s')), 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n${output.join('')}`));
    };
    child.once('exit', (code) => fail(new Error(`the app process exited with ${code}`)));
    child.stdout?.on('data', (d: Buffer) => {
      output.push(d.toString());
      buffer += d.toString();
      const line = buffer.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
  });
  return { url, output, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
