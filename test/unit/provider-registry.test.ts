import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProviders } from '../../src/providers/load.js';
import { createRegistry } from '../../src/providers/registry.js';
import type { ProviderDefinition } from '../../src/providers/schema.js';

/** A valid api_key provider (no credentials to interpolate) with the given tools. */
function provider(id: string, tools: Array<{ name: string; method?: string; path?: string; params?: Record<string, unknown> }>): ProviderDefinition {
  const [parsed] = parseProviders(
    {
      providers: [
        {
          id,
          name: id.toUpperCase(),
          auth: 'api_key',
          api_key: { header: 'X-Api-Key' },
          api_base_url: `https://${id}.example`,
          tools: tools.map((t) => ({ description: `Tool ${t.name}`, method: 'GET', path: '/x', ...t })),
        },
      ],
    },
    {},
  );
  assert.ok(parsed);
  return parsed;
}

test('tools of every provider are listed and found by name, with their provider', () => {
  const acme = provider('acme', [{ name: 'acme_me' }, { name: 'acme_post', method: 'POST' }]);
  const beta = provider('beta', [{ name: 'beta_me' }]);
  const registry = createRegistry([acme, beta]);
  assert.deepEqual(
    registry.tools.map((t) => t.name),
    ['acme_me', 'acme_post', 'beta_me'],
  );
  assert.equal(registry.tool('beta_me')?.provider.id, 'beta');
  assert.equal(registry.tool('acme_post')?.definition.method, 'POST');
  assert.equal(registry.tool('nope'), undefined);
  assert.equal(registry.provider('acme'), acme);
  assert.equal(registry.provider('gamma'), undefined);
  assert.deepEqual(
    registry.providers.map((p) => p.id),
    ['acme', 'beta'],
  );
});

test('only GET tools are marked read-only', () => {
  const registry = createRegistry([
    provider('acme', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((method) => ({ name: `acme_${method.toLowerCase()}`, method }))),
  ]);
  assert.deepEqual(
    registry.tools.filter((t) => t.readOnly).map((t) => t.name),
    ['acme_get'],
  );
});

test('a tool description names its provider, and its input schema and validator come from its params', () => {
  const registry = createRegistry([
    provider('acme', [{ name: 'acme_item', path: '/items/{id}', params: { id: { type: 'string', in: 'path', required: true } } }]),
  ]);
  const tool = registry.tool('acme_item');
  assert.ok(tool);
  assert.equal(tool.description, 'Tool acme_item (ACME)');
  assert.deepEqual(tool.inputSchema.required, ['id']);
  assert.equal(tool.validator.safeParse({ id: '42' }).success, true);
  assert.equal(tool.validator.safeParse({}).success, false);
});

test('the same tool name in two providers is a start-up error naming both providers', () => {
  const acme = provider('acme', [{ name: 'whoami' }, { name: 'list_items' }]);
  const beta = provider('beta', [{ name: 'whoami' }]);
  assert.throws(
    () => createRegistry([acme, beta]),
    (err: Error) => /whoami/.test(err.message) && /"acme"/.test(err.message) && /"beta"/.test(err.message),
  );
});

test('every clashing tool name is listed at once', () => {
  const acme = provider('acme', [{ name: 'whoami' }, { name: 'search' }]);
  const beta = provider('beta', [{ name: 'whoami' }, { name: 'search' }]);
  assert.throws(
    () => createRegistry([acme, beta]),
    (err: Error) => /"whoami"/.test(err.message) && /"search"/.test(err.message),
  );
});

test('no providers give an empty registry', () => {
  const registry = createRegistry([]);
  assert.deepEqual(registry.tools, []);
  assert.equal(registry.tool('anything'), undefined);
});
