/**
 * Writes src/providers/presets/github-openapi.json: the part of GitHub's official OpenAPI
 * description (npm `@octokit/openapi`, a devDependency) that the GitHub preset's operations use —
 * those operations (without their responses, which tools do not read) and every component they
 * reference. The preset's tools are generated from it at start-up like any OpenAPI import, and
 * the server does not carry the 13 MB original.
 *
 *   node --import tsx scripts/github-openapi.ts
 *
 * test/providers/presets.test.ts checks the committed file is exactly what this writes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Json = Record<string, unknown>;

export const GITHUB_DESCRIPTION = fileURLToPath(new URL('../node_modules/@octokit/openapi/generated/api.github.com.json', import.meta.url));
const PRESET = fileURLToPath(new URL('../src/providers/presets/github.json', import.meta.url));
const OUT = fileURLToPath(new URL('../src/providers/presets/github-openapi.json', import.meta.url));
const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'];

/** The trimmed document for these operationIds; throws when one is not in the description. */
export function trimSpec(full: Json, operations: readonly string[], source: string): Json {
  const paths: Record<string, Json> = {};
  const found = new Set<string>();
  for (const [path, item] of Object.entries(full.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op || !operations.includes(op.operationId as string)) continue;
      found.add(op.operationId as string);
      const kept: Json = { operationId: op.operationId, summary: op.summary, description: op.description };
      if (op.parameters) kept.parameters = op.parameters;
      if (op.requestBody) kept.requestBody = op.requestBody;
      paths[path] = { ...(paths[path] ?? (item.parameters ? { parameters: item.parameters } : {})), [method]: kept };
    }
  }
  const missing = operations.filter((id) => !found.has(id));
  if (missing.length > 0) throw new Error(`not in the GitHub description: ${missing.join(', ')}`);
  const components: Record<string, Json> = {};
  const pending: unknown[] = [paths];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const node = pending.pop();
    if (Array.isArray(node)) pending.push(...node);
    else if (node && typeof node === 'object') {
      const ref = (node as Json).$ref;
      if (typeof ref === 'string' && !seen.has(ref)) {
        seen.add(ref);
        const [, , kind, name] = ref.split('/') as [string, string, string, string];
        const target = (full.components as Record<string, Json>)[kind]?.[name];
        if (target === undefined) throw new Error(`unresolvable ${ref}`);
        (components[kind] ??= {})[name] = target;
        pending.push(target);
      }
      pending.push(...Object.values(node));
    }
  }
  const info = full.info as Json;
  return {
    openapi: full.openapi,
    info: { title: info.title, version: info.version, 'x-source': source },
    servers: full.servers,
    paths: sortKeys(paths),
    components: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v as Record<string, Json>)])),
  };
}

function sortKeys(obj: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => a.localeCompare(b)));
}

/** The preset's operations, the version of the description and the trimmed text, as the script writes it. */
export async function githubPresetSpec(): Promise<string> {
  const preset = JSON.parse(await readFile(PRESET, 'utf8')) as { openapi: { operations: string[] } };
  const pkg = JSON.parse(await readFile(new URL('../node_modules/@octokit/openapi/package.json', import.meta.url), 'utf8')) as { version: string };
  const full = JSON.parse(await readFile(GITHUB_DESCRIPTION, 'utf8')) as Json;
  const trimmed = trimSpec(full, preset.openapi.operations, `@octokit/openapi ${pkg.version} generated/api.github.com.json`);
  return `${JSON.stringify(trimmed, null, 1)}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await writeFile(OUT, await githubPresetSpec());
  process.stdout.write(`wrote ${OUT}\n`);
}
