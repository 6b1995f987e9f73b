import { readFile } from 'node:fs/promises';
import path from 'node:path';
import $RefParser from '@apidevtools/json-schema-ref-parser';
import { parse as parseYaml } from 'yaml';
import { upstreamApiAgent } from '../../outbound/agents.js';
import { exchange, upstreamTimedOut } from '../../outbound/exchange.js';

/** Why a spec cannot be used; the message names the spec and says what is wrong. */
export class OpenApiSpecError extends Error {
  override name = 'OpenApiSpecError';
}

/** GitHub's description is ~12 MB of JSON; anything past this is not a spec we should hold in memory. */
const MAX_SPEC_BYTES = 32 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 20_000;

/** An OpenAPI 3.x document with every internal `$ref` replaced by what it points at. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

/**
 * Reads the document (a file relative to `baseDir`, or an https:// URL fetched once at start-up),
 * parses JSON or YAML, and dereferences it with json-schema-ref-parser. Only references inside the
 * document are followed: a spec never makes this server read other files or URLs.
 */
export async function loadOpenApiSpec(spec: string, baseDir: string): Promise<OpenApiDocument> {
  const text = /^https?:\/\//i.test(spec) ? await fetchSpec(spec) : await readSpec(path.resolve(baseDir, spec));
  let raw: unknown;
  try {
    raw = /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: -1 });
  } catch (err) {
    throw new OpenApiSpecError(`${spec} is not valid JSON or YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const doc = raw as Partial<OpenApiDocument> | null;
  if (!doc || typeof doc !== 'object' || typeof doc.openapi !== 'string' || !/^3\.[01]\./.test(doc.openapi)) {
    throw new OpenApiSpecError(`${spec} is not an OpenAPI 3.0 or 3.1 document (its "openapi" field must be 3.0.x or 3.1.x)`);
  }
  if (!doc.paths || typeof doc.paths !== 'object') throw new OpenApiSpecError(`${spec} has no "paths"`);
  try {
    // Circular schemas become object cycles (circular: 'ignore' would leave every $ref on the way
    // to one unresolved); cleanSchema() cuts each cycle where it closes.
    return (await $RefParser.dereference(doc as object, { resolve: { external: false } })) as OpenApiDocument;
  } catch (err) {
    throw new OpenApiSpecError(`${spec}: a $ref cannot be resolved (${(err as Error).message.split('\n')[0]})`);
  }
}

async function readSpec(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new OpenApiSpecError(`cannot read the OpenAPI file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function fetchSpec(url: string): Promise<string> {
  const target = new URL(url);
  if (target.protocol !== 'https:') throw new OpenApiSpecError(`${url}: only https:// spec URLs are fetched (or give a file path)`);
  let response;
  try {
    response = await exchange(
      upstreamApiAgent,
      { url: target, method: 'GET', headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.5', 'user-agent': 'mcp-oauth-proxy (OpenAPI import)' }, body: undefined },
      { timeoutMs: FETCH_TIMEOUT_MS, maxBytes: MAX_SPEC_BYTES },
    );
  } catch (err) {
    throw new OpenApiSpecError(`${url} ${upstreamTimedOut(err) ? `did not answer within ${FETCH_TIMEOUT_MS / 1000} s` : 'could not be fetched'}`);
  }
  if (response.status !== 200) throw new OpenApiSpecError(`${url} answered HTTP ${response.status} (redirects are not followed)`);
  if (response.truncated) throw new OpenApiSpecError(`${url} is larger than ${MAX_SPEC_BYTES / 1024 / 1024} MB`);
  return response.text;
}
