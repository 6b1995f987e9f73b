import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { presets } from './presets/index.js';
import { ProvidersFileError } from './providers-file-error.js';
import { withOpenApiTools } from './openapi/with-openapi-tools.js';

export { ProvidersFileError };
import { ProvidersFileSchema, type ProviderDefinition } from './schema.js';

/** Where shipped presets' OpenAPI files live (an `openapi.spec` path in a preset is relative to it). */
const PRESETS_DIR = fileURLToPath(new URL('./presets/', import.meta.url));

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Loads providers from PROVIDERS_FILE, or — when unset — the shipped presets whose
 * credentials are present in the environment.
 */
export async function loadProviders(file: string | undefined, env: NodeJS.ProcessEnv, warn?: (message: string) => void): Promise<ProviderDefinition[]> {
  if (!file) return withOpenApiTools(loadPresets(env), PRESETS_DIR, 'presets', warn);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ProvidersFileError(file, [`cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(path.extname(file)) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ProvidersFileError(file, [`not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`]);
  }
  return withOpenApiTools(parseProviders(raw, env, file), path.dirname(file), file, warn);
}

/** Validates an already-parsed providers document (`{ providers: [...] }`). */
export function parseProviders(raw: unknown, env: NodeJS.ProcessEnv, source = 'providers'): ProviderDefinition[] {
  const missing = new Set<string>();
  const interpolated = interpolate(raw, env, missing);
  const problems = [...missing].map((name) => `environment variable ${name} is referenced but not set`);
  const parsed = ProvidersFileSchema.safeParse(interpolated);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${describePath(interpolated, issue.path)}: ${issue.message}`);
  }
  // Checked on the raw document, so a duplicate is reported together with any other problem.
  const rawProviders = (interpolated as { providers?: unknown })?.providers;
  const ids = new Set<string>();
  for (const entry of Array.isArray(rawProviders) ? rawProviders : []) {
    const id = (entry as { id?: unknown })?.id;
    if (typeof id !== 'string') continue;
    if (ids.has(id)) problems.push(`provider id "${id}" is used twice`);
    ids.add(id);
  }
  if (problems.length > 0 || !parsed.success) throw new ProvidersFileError(source, problems);
  return parsed.data.providers;
}

function loadPresets(env: NodeJS.ProcessEnv): ProviderDefinition[] {
  const usable = presets.filter((preset) => {
    const names = [...JSON.stringify(preset).matchAll(PLACEHOLDER)].map((m) => m[1] as string);
    return names.every((name) => env[name]);
  });
  return usable.length > 0 ? parseProviders({ providers: usable }, env, 'presets') : [];
}

function interpolate(value: unknown, env: NodeJS.ProcessEnv, missing: Set<string>): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (_, name: string) => {
      const found = env[name];
      if (found === undefined || found === '') missing.add(name);
      return found ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env, missing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, missing)]));
  }
  return value;
}

/** `providers[1] (acme).tools[0] (whoami).path` — names, not just indexes, so operators find the line. */
function describePath(root: unknown, issuePath: PropertyKey[]): string {
  let out = '';
  let node: unknown = root;
  for (const key of issuePath) {
    out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
    node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    if (typeof key === 'number' && node && typeof node === 'object') {
      const label = (node as { id?: unknown; name?: unknown }).id ?? (node as { name?: unknown }).name;
      if (typeof label === 'string') out += ` (${label})`;
    }
  }
  return out || '(file)';
}
