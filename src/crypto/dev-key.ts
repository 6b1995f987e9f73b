import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';

/**
 * Outside production, a missing ENCRYPTION_KEY is replaced by one generated into the data
 * dir, so `npm start` works on a fresh machine. It is kept (mode 0600) so tokens stored in
 * one run can still be read in the next. Production refuses to start instead (config.ts).
 */
export async function loadOrCreateDevKey(dataDir: string, log: Logger): Promise<Buffer> {
  const file = path.join(dataDir, 'dev-encryption-key');
  await mkdir(dataDir, { recursive: true });
  try {
    // 'wx' fails when the file exists: never overwrite a key that encrypted something.
    await writeFile(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
  log.warn(
    { file },
    '!!! ENCRYPTION_KEY is not set: using a DEVELOPMENT key kept in the data dir. ' +
      'Set ENCRYPTION_KEY (openssl rand -base64 32) before storing real accounts. !!!',
  );
  return key;
}
