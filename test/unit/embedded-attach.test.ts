import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runningEmbeddedUrl } from '../../src/db/embedded-attach.js';

/** A data dir as `npm start` leaves it while running: postmaster.pid (pid, dir, start, port, …) and the password file. */
async function dataDir(pid: number, port: number): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'attach-'));
  await mkdir(path.join(dir, 'postgres'));
  await writeFile(path.join(dir, 'postgres', 'postmaster.pid'), `${pid}\n${dir}/postgres\n1732262600\n${port}\n\n127.0.0.1\n  1234567 7\nready   \n`);
  await writeFile(path.join(dir, 'postgres-password'), 'p@ss/word\n');
  return dir;
}

test('the admin CLI attaches to the embedded PostgreSQL a running server started', async (t) => {
  const dir = await dataDir(process.pid, 54321);
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(await runningEmbeddedUrl(dir), 'postgres://postgres:p%40ss%2Fword@127.0.0.1:54321/mcp_oauth_proxy');
});

test('no running server: a stale pid file or no data dir at all means start one', async (t) => {
  const dir = await dataDir(2 ** 22 + 12345, 54321); // above Linux's pid_max default: never a live process
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(await runningEmbeddedUrl(dir), undefined);
  assert.equal(await runningEmbeddedUrl(path.join(dir, 'missing')), undefined);
});
