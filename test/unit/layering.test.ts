import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The folder tree is the architecture (docs/layout.md): domain folders know nothing of MCP, the
 * web page or HTTP routing, and the JSON API (http/) and the pages for people (web/) do not
 * import each other. Read from the source itself, so a new import that breaks a layer fails here.
 */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const DOMAIN = ['keys', 'connections', 'users', 'providers', 'usage', 'audit', 'limits', 'upstreams', 'outbound', 'crypto', 'db', 'auth'];
/** web/ still reaches the key check through http/'s authenticator until it moves to src/auth/ (issue 17). */
const WEB_TO_HTTP_ALLOWED = new Set(['http/middleware/authenticate.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import of a file, as a path under src/ (`http/routes/connect.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\bfrom\s+'(\.{1,2}\/[^']+)'/g)].map((m) =>
    path.relative(SRC, path.resolve(path.dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))).split(path.sep).join('/'),
  );
}

const files = sourceFiles(SRC).map((file) => ({ name: path.relative(SRC, file).split(path.sep).join('/'), imports: importsOf(file) }));
const topOf = (name: string) => name.split('/')[0] as string;

test('domain folders import nothing from mcp/, web/ or http/', () => {
  const offending = files
    .filter((f) => DOMAIN.includes(topOf(f.name)))
    .flatMap((f) => f.imports.filter((i) => ['mcp', 'web', 'http'].includes(topOf(i))).map((i) => `${f.name} → ${i}`));
  assert.deepEqual(offending, []);
});

test('http/ and web/ do not import each other', () => {
  const httpToWeb = files.filter((f) => topOf(f.name) === 'http').flatMap((f) => f.imports.filter((i) => topOf(i) === 'web').map((i) => `${f.name} → ${i}`));
  const webToHttp = files
    .filter((f) => topOf(f.name) === 'web')
    .flatMap((f) => f.imports.filter((i) => topOf(i) === 'http' && !WEB_TO_HTTP_ALLOWED.has(i)).map((i) => `${f.name} → ${i}`));
  assert.deepEqual([...httpToWeb, ...webToHttp], []);
  assert.ok(files.length > 100, 'the scan found the source tree');
});
