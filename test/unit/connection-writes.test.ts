import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Issue 17: the app's connection repository is the one writer of connection rows, because it is
 * the one that drops the cached copy once a write has committed. A write anywhere else would
 * leave a stale row in the tool calls' cache. Read from the source itself, so a new writer fails
 * here. (`admin reencrypt` rewrites ciphertexts from another process, through its generic table
 * list; running apps see that within the cache's TTL, as any other instance's change.)
 */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const STORE = 'connections/connection-store.ts';
const REPOSITORY = 'connections/connection-repository.ts';
/** The writes, and the refresh lock, whose read is newer than anything cached. */
const STORE_WRITES = ['upsertConnection', 'updateTokens', 'markReauthRequired', 'deleteConnection', 'lockConnection'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const files = sourceFiles(SRC).map((file) => ({ name: path.relative(SRC, file).split(path.sep).join('/'), text: readFileSync(file, 'utf8') }));

test('only the connection store holds SQL that writes the connections table', () => {
  const writes = /\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+connections\b/i;
  const offending = files.filter((f) => f.name !== STORE && writes.test(f.text)).map((f) => f.name);
  assert.deepEqual(offending, []);
  assert.ok(writes.test(files.find((f) => f.name === STORE)?.text ?? ''), 'the scan recognises the store’s own writes');
});

test('only the repository calls the store’s write functions and its lock', () => {
  const importsFromStore = /import\s*\{([^}]*)\}\s*from\s*'[./]*(?:connections\/)?connection-store\.js'/g;
  const offending = files.flatMap((f) => {
    if (f.name === REPOSITORY) return [];
    const named = [...f.text.matchAll(importsFromStore)].flatMap((m) => (m[1] as string).split(',').map((s) => s.trim().replace(/^type\s+/, '')));
    return named.filter((n) => STORE_WRITES.includes(n)).map((n) => `${f.name} imports ${n}`);
  });
  assert.deepEqual(offending, []);
  const repository = files.find((f) => f.name === REPOSITORY)?.text ?? '';
  for (const name of STORE_WRITES) assert.match(repository, new RegExp(`\\b${name}\\b`), `the repository wraps ${name}`);
});
