import { createReadStream } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import bcrypt from 'bcrypt';
import { BCRYPT_COST } from '../../src/keys/bcrypt-gate.js';
import { generateKey } from '../../src/keys/key-format.js';

/** One minted API key: the secret the load uses and the hash the database stores. */
export interface MintedBenchKey {
  key: string;
  publicId: string;
  secretHash: string;
}

async function readMinted(file: string): Promise<MintedBenchKey[]> {
  const keys: MintedBenchKey[] = [];
  try {
    const lines = createInterface({ input: createReadStream(file) });
    for await (const line of lines) if (line.trim()) keys.push(JSON.parse(line) as MintedBenchKey);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return keys;
}

/**
 * `count` real keys (the server's own format, bcrypt at the server's cost), kept in `file` (JSON
 * lines) so that only the first run pays: about 50–80 ms of CPU per key. Appends as it goes, so
 * an interrupted mint resumes where it stopped. The secrets are the benchmark's own, on loopback.
 */
export async function mintKeys(file: string, count: number, log: (line: string) => void): Promise<MintedBenchKey[]> {
  await mkdir(path.dirname(file), { recursive: true });
  const keys = await readMinted(file);
  if (keys.length >= count) return keys.slice(0, count);
  const missing = count - keys.length;
  log(`minting ${missing} API keys at bcrypt cost ${BCRYPT_COST} (kept in ${file} for later runs)…`);
  const started = performance.now();
  let next = 0;
  let done = 0;
  // libuv runs bcrypt on its thread pool: as many at once as it has threads.
  const workers = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < missing) {
        next += 1;
        const { key, publicId } = generateKey();
        const minted = { key, publicId, secretHash: await bcrypt.hash(key, BCRYPT_COST) };
        keys.push(minted);
        await appendFile(file, `${JSON.stringify(minted)}\n`, { mode: 0o600 });
        done += 1;
        if (done % 1000 === 0) log(`  ${done}/${missing} (${Math.round(done / ((performance.now() - started) / 1000))}/s)`);
      }
    }),
  );
  log(`minted ${missing} keys in ${Math.round((performance.now() - started) / 1000)} s`);
  return keys.slice(0, count);
}

// `node --import tsx bench/scale/mint.ts <file> <count>`: mint ahead of a run.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const [file, count] = process.argv.slice(2);
  await mintKeys(path.resolve(file ?? '.data/bench-scale/keys.jsonl'), Number(count ?? 20_000), (l) => process.stdout.write(`${l}\n`));
}
