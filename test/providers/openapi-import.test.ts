import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { loadProviders, ProvidersFileError } from '../../src/providers/load.js';
import { registerAndConnect, startAppWithUpstream, upstreamProvider } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

const SPEC = fileURLToPath(new URL('../fixtures/acme-openapi.yaml', import.meta.url));

/**
 * Issue 14: a provider's tools from an OpenAPI document. The committed spec describes the test
 * upstream's real REST API, so the generated tools are called against it over loopback.
 */
describe('OpenAPI import', () => {
  let f: Awaited<ReturnType<typeof startAppWithUpstream>>;
  let mcp: Client;
  before(async () => {
    f = await startAppWithUpstream({
      provider: { tools: [], openapi: { spec: SPEC, operations: ['whoami', 'checkMe', 'getItem', 'echo'], tool_prefix: 'acme_' } },
    });
    const { apiKey } = await registerAndConnect(f.app, 'spec-user');
    mcp = await connectMcp(f.app.url, apiKey);
  });
  after(async () => {
    await mcp.close();
    await f.close();
  });

  it('lists the listed operations as tools: operationId names, descriptions, $ref-resolved input schemas, GET/HEAD read-only', async () => {
    const { tools } = await mcp.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    assert.deepEqual([...byName.keys()].sort(), ['acme_checkMe', 'acme_echo', 'acme_getItem', 'acme_whoami']);
    const getItem = byName.get('acme_getItem');
    assert.match(getItem?.description ?? '', /Fetch one item\n\nReads one item of the account\./);
    assert.deepEqual(getItem?.inputSchema.required, ['id'], 'the path-level $ref parameter is required');
    assert.deepEqual(getItem?.inputSchema.properties?.tags, { type: 'array', items: { type: 'string' } });
    assert.equal(getItem?.annotations?.readOnlyHint, true);
    assert.equal(byName.get('acme_checkMe')?.annotations?.readOnlyHint, true, 'HEAD is read-only');

    const echo = byName.get('acme_echo');
    assert.equal(echo?.annotations?.readOnlyHint, false);
    assert.deepEqual(echo?.inputSchema.required, ['message']);
    const props = echo?.inputSchema.properties as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(props).sort(), ['count', 'message', 'meta'], 'readOnly body properties are not input');
    assert.deepEqual(props.message, { type: 'string', description: 'What to echo' }, 'examples are dropped');
    const meta = props.meta as { type: string; properties: Record<string, Record<string, unknown>> };
    assert.equal(meta.type, 'object', 'the $ref to Meta is resolved');
    assert.deepEqual(meta.properties.label, { type: 'string', enum: ['a', 'b'] });
    assert.ok(!JSON.stringify(props).includes('$ref'), 'no $ref is left, the circular one included');
  });

  it('calls the upstream with path, query and body params as the spec places them', async () => {
    const item = await mcp.callTool({ name: 'acme_getItem', arguments: { id: 'a b', q: 'word', tags: ['x', 'y'] } });
    assert.equal(item.isError, undefined, textOf(item));
    assert.deepEqual(JSON.parse(textOf(item)), { id: 'a b', q: 'word', owner: 'spec-user' });
    assert.ok(f.upstream.apiRequests.some((r) => r.path === '/api/items/a%20b?q=word&tags=x%2Cy'));

    const echoed = await mcp.callTool({ name: 'acme_echo', arguments: { message: 'hi', count: 2, meta: { label: 'a' } } });
    assert.equal(echoed.isError, undefined, textOf(echoed));
    assert.deepEqual(JSON.parse(textOf(echoed)), { owner: 'spec-user', body: { message: 'hi', count: 2, meta: { label: 'a' } } });
    const refused = await mcp.callTool({ name: 'acme_echo', arguments: { count: 2 } });
    assert.equal(refused.isError, true, 'a required body property is checked before anything goes upstream');
  });
});

describe('OpenAPI import start-up errors', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'openapi-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Loads a providers file with one provider using `openapi`, as main.ts does; returns the error text. */
  async function startUpError(openapi: Record<string, unknown>): Promise<string> {
    const file = path.join(dir, `providers-${Math.random().toString(36).slice(2)}.json`);
    const endpoints = { authorizationUrl: 'https://a.example/auth', tokenUrl: 'https://a.example/token', revocationUrl: 'https://a.example/revoke', apiBaseUrl: 'https://a.example/api', clientId: 'c', clientSecret: 's' };
    await writeFile(file, JSON.stringify({ providers: [upstreamProvider(endpoints, { tools: [], openapi })] }));
    try {
      await loadProviders(file, {});
    } catch (err) {
      assert.ok(err instanceof ProvidersFileError, String(err));
      return err.message;
    }
    assert.fail('the providers file was accepted');
  }

  it('without an operations list, more tools than max_tools is an error that says why and what to do', async () => {
    const message = await startUpError({ spec: SPEC, max_tools: 3 });
    assert.match(message, /gives 5 tools, more than max_tools \(3\): MCP clients degrade with that many\. List the operationIds to offer in "operations"/);
  });

  it('a listed operation that is not in the spec, or that tools cannot call, is an error naming it', async () => {
    const message = await startUpError({ spec: SPEC, operations: ['whoami', 'noSuchThing', 'signedRequest'] });
    assert.match(message, /operation "noSuchThing" is not in the spec/);
    assert.match(message, /operation "signedRequest" cannot be a tool: it needs the header parameter "X-Signature"/);
  });

  it('a spec path relative to the providers file is found; a missing one is an error naming the file', async () => {
    await writeFile(path.join(dir, 'copy.yaml'), await readFile(SPEC, 'utf8'));
    const file = path.join(dir, 'relative.json');
    const endpoints = { authorizationUrl: 'https://a.example/auth', tokenUrl: 'https://a.example/token', revocationUrl: 'https://a.example/revoke', apiBaseUrl: 'https://a.example/api', clientId: 'c', clientSecret: 's' };
    await writeFile(file, JSON.stringify({ providers: [upstreamProvider(endpoints, { tools: [], openapi: { spec: 'copy.yaml' } })] }));
    const warnings: string[] = [];
    const [provider] = await loadProviders(file, {}, (m) => warnings.push(m));
    assert.equal(provider?.tools.length, 5, 'every usable operation, within the default max_tools');
    assert.match(warnings.join('\n'), /"signedRequest" cannot be a tool.*left out/);
    assert.match(await startUpError({ spec: 'missing.yaml' }), /cannot read the OpenAPI file .*missing\.yaml \(ENOENT\)/);
  });
});
