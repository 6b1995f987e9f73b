import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DATABASE, PASSWORD_FILE } from './embedded.js';

/**
 * The connection string of an embedded PostgreSQL that a running server already started under
 * `dataDir`, or undefined when none is running. Tools (the admin CLI) must attach to it rather
 * than start their own: starting one would stop the server's (startEmbeddedPostgres reaps a
 * postmaster it finds running, because after a crash that is a leftover).
 */
export async function runningEmbeddedUrl(dataDir: string): Promise<string | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  // postmaster.pid: line 1 is the pid, line 4 the port (PostgreSQL's miscadmin.h LOCK_FILE_LINE_*).
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || !alive(pid)) return undefined;
  const password = (await readFile(path.join(dataDir, PASSWORD_FILE), 'utf8')).trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
