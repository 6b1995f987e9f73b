import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ParamDefinition, ToolDefinition } from '../../src/providers/schema.js';
import { toArgumentValidator, toInputSchema } from '../../src/providers/tool-schema.js';

function tool(params: Record<string, ParamDefinition>, path = '/items'): ToolDefinition {
  return { name: 'test_tool', description: 'A tool', method: 'GET', path, params };
}

const searchTool = tool(
  {
    id: { type: 'string', in: 'path', required: true, description: 'Item id' },
    status: { type: 'string', in: 'query', required: false, enum: ['open', 'closed'] },
    limit: { type: 'integer', in: 'query', required: false },
    ratio: { type: 'number', in: 'query', required: false },
    active: { type: 'boolean', in: 'query', required: false },
    tags: { type: 'array', in: 'query', required: false, items: { type: 'string' } },
    ids: { type: 'array', in: 'query', required: false, items: { type: 'integer' } },
    anything: { type: 'array', in: 'body', required: false },
    meta: { type: 'object', in: 'body', required: true },
  },
  '/items/{id}',
);

/** True when the tool's validator accepts `args`. */
function accepts(definition: ToolDefinition, args: unknown): boolean {
  return toArgumentValidator(definition).safeParse(args).success;
}

test('the input schema lists every param with its type, description and enum, and forbids extra properties', () => {
  const schema = toInputSchema(searchTool);
  assert.equal(schema.type, 'object');
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.properties.id, { type: 'string', description: 'Item id' });
  assert.deepEqual(schema.properties.status, { type: 'string', enum: ['open', 'closed'] });
  assert.deepEqual(schema.properties.limit, { type: 'integer' });
  assert.deepEqual(schema.properties.ratio, { type: 'number' });
  assert.deepEqual(schema.properties.active, { type: 'boolean' });
  assert.deepEqual(schema.properties.meta, { type: 'object' });
  assert.deepEqual(Object.keys(schema.properties).sort(), ['active', 'anything', 'id', 'ids', 'limit', 'meta', 'ratio', 'status', 'tags']);
});

test('array params describe their items; arrays without an item type accept any items', () => {
  const schema = toInputSchema(searchTool);
  assert.deepEqual(schema.properties.tags, { type: 'array', items: { type: 'string' } });
  assert.deepEqual(schema.properties.ids, { type: 'array', items: { type: 'integer' } });
  assert.deepEqual(schema.properties.anything, { type: 'array', items: {} });
});

test('only required params are listed in "required", and a tool without any has no "required" key', () => {
  assert.deepEqual(toInputSchema(searchTool).required?.sort(), ['id', 'meta']);
  const optionalOnly = toInputSchema(tool({ q: { type: 'string', in: 'query', required: false } }));
  assert.equal('required' in optionalOnly, false);
  const none = toInputSchema(tool({}));
  assert.deepEqual(none, { type: 'object', properties: {}, additionalProperties: false });
});

test('the validator accepts well-typed arguments and leaves optional ones out', () => {
  assert.ok(accepts(searchTool, { id: 'abc', meta: {} }));
  assert.ok(
    accepts(searchTool, {
      id: 'abc',
      status: 'open',
      limit: 10,
      ratio: 0.5,
      active: false,
      tags: ['a', 'b'],
      ids: [1, 2],
      anything: [1, 'x', null],
      meta: { nested: { deep: true } },
    }),
  );
  assert.deepEqual(toArgumentValidator(searchTool).parse({ id: 'abc', meta: { a: 1 } }), { id: 'abc', meta: { a: 1 } });
});

test('a missing required argument is rejected', () => {
  assert.equal(accepts(searchTool, { meta: {} }), false);
  assert.equal(accepts(searchTool, { id: 'abc' }), false);
  assert.equal(accepts(searchTool, {}), false);
});

test('arguments of the wrong type are rejected', () => {
  const base = { id: 'abc', meta: {} };
  for (const [name, value] of [
    ['id', 42],
    ['limit', '10'],
    ['ratio', '0.5'],
    ['active', 'true'],
    ['active', 1],
    ['tags', 'a,b'],
    ['tags', [1, 2]],
    ['ids', ['1']],
    ['meta', 'text'],
    ['meta', null],
    ['meta', [1, 2]],
  ] as const) {
    assert.equal(accepts(searchTool, { ...base, [name]: value }), false, `${name} = ${JSON.stringify(value)}`);
  }
});

test('integer params reject fractions while number params accept them', () => {
  const base = { id: 'abc', meta: {} };
  assert.ok(accepts(searchTool, { ...base, limit: 3 }));
  assert.equal(accepts(searchTool, { ...base, limit: 3.5 }), false);
  assert.ok(accepts(searchTool, { ...base, ratio: 3.5 }));
  assert.equal(accepts(searchTool, { ...base, ids: [1, 2.5] }), false, 'integer array items reject fractions too');
});

test('enum params accept only the listed values', () => {
  const base = { id: 'abc', meta: {} };
  assert.ok(accepts(searchTool, { ...base, status: 'closed' }));
  assert.equal(accepts(searchTool, { ...base, status: 'pending' }), false);
  assert.equal(accepts(searchTool, { ...base, status: 'OPEN' }), false);
  const numeric = tool({ size: { type: 'integer', in: 'query', required: true, enum: [10, 50, 100] } });
  assert.ok(accepts(numeric, { size: 50 }));
  assert.equal(accepts(numeric, { size: 20 }), false);
  assert.equal(accepts(numeric, { size: '50' }), false, 'a string that looks like an allowed number is still the wrong type');
});

test('an argument the tool does not declare is rejected rather than silently dropped', () => {
  assert.equal(accepts(searchTool, { id: 'abc', meta: {}, extra: 1 }), false);
  assert.equal(accepts(tool({}), { anything: true }), false);
  assert.ok(accepts(tool({}), {}));
});

test(
  'an array param with an enum accepts arrays of allowed values and advertises the enum on its items',
  () => {
    const multi = tool({ fields: { type: 'array', in: 'query', required: true, enum: ['id', 'name'], items: { type: 'string' } } });
    assert.ok(accepts(multi, { fields: ['id', 'name'] }), 'an array of allowed values is accepted');
    assert.equal(accepts(multi, { fields: ['id', 'secret'] }), false, 'a value outside the enum is still rejected');
    assert.deepEqual(toInputSchema(multi).properties.fields, { type: 'array', items: { type: 'string', enum: ['id', 'name'] } });
  },
);
