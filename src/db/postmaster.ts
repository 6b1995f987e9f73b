import { spawn } from 'node:child_process';

/** A running PostgreSQL server process started by this process. */
export interface Postmaster {
  /** Fast shutdown (SIGINT), resolved when the process has exited. */
  stop(): Promise<void>;
}

export interface PostmasterOptions {
  binary: string;
  clusterDir: string;
  port: number;
  flags: readonly string[];
  /** Run as this user (PostgreSQL refuses to run as root). */
  runAs?: { uid: number; gid: number } | undefined;
  onLog(message: string): void;
}

const READY = 'database system is ready to accept connections';

/**
 * Starts the embedded cluster's postmaster in a process group of its own (`detached`). Ctrl+C in a
 * terminal signals the whole foreground group, and PostgreSQL answers SIGINT with a fast shutdown
 * that cuts every connection at once: in the same group, the database was gone before the
 * server's graceful shutdown had written its last usage counts ("usage sync failed"). Detached, it
 * stops when main.ts says so, after the pool is closed. If this process exits any other way, the
 * `exit` hook still stops it, and a run killed outright leaves a postmaster that the next start reaps.
 */
export async function startPostmaster(options: PostmasterOptions): Promise<Postmaster> {
  const args = ['-D', options.clusterDir, '-p', String(options.port), '-c', 'lc_messages=C', ...options.flags];
  const child = spawn(options.binary, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'], ...(options.runAs ?? {}) });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const onExit = () => {
    if (running()) child.kill('SIGINT');
  };
  process.on('exit', onExit);

  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      const message = chunk.toString('utf8');
      options.onLog(message);
      if (message.includes(READY)) resolve();
    });
    child.once('error', reject);
    void exited.then(() => reject(new Error(`PostgreSQL exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`)));
  }).catch((err: unknown) => {
    process.off('exit', onExit);
    throw err;
  });

  return {
    async stop() {
      process.off('exit', onExit);
      if (running()) child.kill('SIGINT');
      await exited;
    },
  };
}
