import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildUpstreamRequest, UnsafeArgumentError } from '../../src/upstreams/rest/build-request.js';
import { parseProviders } from '../../src/providers/load.js';
import type { ParamDefinition, ProviderDefinition, ToolDefinition } from '../../src/providers/schema.js';

/** A provider on `apiBaseUrl`, parsed the way the server parses the providers file. */
function providerAt(apiBaseUrl: string): ProviderDefinition {
  const [provider] = parseProviders(
    { providers: [{ id: 'acme', name: 'Acme', auth: 'api_key', api_key: { header: 'X-Api-Key' }, api_base_url: apiBaseUrl }] },
    {},
  );
  assert.ok(provider);
  return provider;
}

function tool(method: ToolDefinition['method'], path: string, params: Record<string, Omit<ParamDefinition, 'required'> & { required?: boolean }> = {}): ToolDefinition {
  return {
    name: 'acme_tool',
    description: 'A tool',
    method,
    path,
    params: Object.fromEntries(Object.entries(params).map(([name, p]) => [name, { required: p.in === 'path', ...p }])),
  };
}

const api = providerAt('https://api.acme.example');
const apiV2 = providerAt('https://api.x.com/v2');
const getItem = tool('GET', '/items/{id}', { id: { type: 'string', in: 'path' } });

test('a tool without params calls its path on the API with its method and no body', () => {
  const request = buildUpstreamRequest(api, tool('GET', '/me'), {});
  assert.equal(request.url.href, 'https://api.acme.example/me');
  assert.equal(request.method, 'GET');
  assert.equal(request.body, undefined);
});

test('path params are percent-encoded into their own segment', () => {
  assert.equal(buildUpstreamRequest(api, getItem, { id: 'a/b c' }).url.pathname, '/items/a%2Fb%20c');
  assert.equal(buildUpstreamRequest(api, getItem, { id: 'ünï' }).url.pathname, '/items/%C3%BCn%C3%AF');
  assert.equal(buildUpstreamRequest(api, getItem, { id: '100%' }).url.pathname, '/items/100%25');
  const twoParams = tool('GET', '/properties/{property}/bookings/{booking}', { property: { type: 'integer', in: 'path' }, booking: { type: 'string', in: 'path' } });
  assert.equal(buildUpstreamRequest(api, twoParams, { property: 42, booking: 'b 1' }).url.pathname, '/properties/42/bookings/b%201');
});

test('dot segments and empty values in a path param are refused', () => {
  for (const id of ['.', '..', '%2e', '%2e%2e', '%2E.', '.%2E', '%2E%2E', '']) {
    assert.throws(() => buildUpstreamRequest(api, getItem, { id }), UnsafeArgumentError, JSON.stringify(id));
  }
  assert.throws(() => buildUpstreamRequest(apiV2, getItem, { id: '..' }), UnsafeArgumentError);
});

test('values that merely contain dots are ordinary segments', () => {
  assert.equal(buildUpstreamRequest(api, getItem, { id: '...' }).url.pathname, '/items/...');
  assert.equal(buildUpstreamRequest(api, getItem, { id: 'file.json' }).url.pathname, '/items/file.json');
  assert.equal(buildUpstreamRequest(api, getItem, { id: '../x' }).url.pathname, '/items/..%2Fx');
});

test('an api_base_url with a path prefix keeps the prefix, with or without a trailing slash', () => {
  assert.equal(buildUpstreamRequest(apiV2, tool('GET', '/users/me'), {}).url.href, 'https://api.x.com/v2/users/me');
  assert.equal(buildUpstreamRequest(providerAt('https://api.x.com/v2/'), tool('GET', '/users/me'), {}).url.href, 'https://api.x.com/v2/users/me');
  assert.equal(buildUpstreamRequest(apiV2, getItem, { id: 'a/b c' }).url.href, 'https://api.x.com/v2/items/a%2Fb%20c');
});

test('hostile path param values never move the request off the API host or out of its base path', () => {
  const hostile = [
    '@evil.com',
    '//evil.com',
    '\\\\evil.com',
    '\\evil.com',
    '?x=1',
    '#frag',
    '../../admin',
    '..\\..\\admin',
    '%2e%2e%2fadmin',
    'http://evil.com/',
    'evil.com:443',
    ' ..',
    '.. ',
    '\t..',
    '..\n',
    '\u3002\u3002',
    '\uFF0E\uFF0E',
  ];
  let built = 0;
  for (const provider of [api, apiV2]) {
    const base = new URL(provider.api_base_url);
    const prefix = `${base.pathname.replace(/\/+$/, '')}/items/`;
    for (const id of hostile) {
      let url: URL;
      try {
        url = buildUpstreamRequest(provider, getItem, { id }).url;
      } catch (err) {
        assert.ok(err instanceof UnsafeArgumentError, `${JSON.stringify(id)} threw ${String(err)}`);
        continue;
      }
      assert.equal(url.origin, base.origin, `${JSON.stringify(id)} keeps the origin`);
      assert.ok(url.pathname.startsWith(prefix), `${JSON.stringify(id)} stays under ${prefix}: got ${url.pathname}`);
      assert.equal(url.pathname.slice(prefix.length).includes('/'), false, `${JSON.stringify(id)} stays in one segment: got ${url.pathname}`);
      assert.equal(url.search, '', `${JSON.stringify(id)} adds no query`);
      assert.equal(url.hash, '', `${JSON.stringify(id)} adds no fragment`);
      assert.equal(url.username + url.password, '', `${JSON.stringify(id)} adds no credentials`);
      built++;
    }
  }
  assert.ok(built > 0, 'hostile-looking but harmless values are encoded, not all refused');
});

test('URL syntax in a path param is escaped into the segment', () => {
  const expected: Record<string, string> = {
    '@evil.com': '/v2/items/%40evil.com',
    '//evil.com': '/v2/items/%2F%2Fevil.com',
    '\\\\evil.com': '/v2/items/%5C%5Cevil.com',
    '?x=1': '/v2/items/%3Fx%3D1',
    '#frag': '/v2/items/%23frag',
  };
  for (const [id, path] of Object.entries(expected)) {
    assert.equal(buildUpstreamRequest(apiV2, getItem, { id }).url.href, `https://api.x.com${path}`, JSON.stringify(id));
  }
});

test(
  'a path param that is not well-formed unicode is refused as an unsafe argument',
  () => {
    assert.throws(() => buildUpstreamRequest(api, getItem, { id: 'a\uD800b' }), UnsafeArgumentError);
  },
);

test('query params are URL-encoded; arrays are comma-joined and objects sent as JSON; unset ones are left out', () => {
  const search = tool('GET', '/search', {
    q: { type: 'string', in: 'query' },
    ids: { type: 'array', in: 'query', items: { type: 'integer' } },
    filter: { type: 'object', in: 'query' },
    active: { type: 'boolean', in: 'query' },
    limit: { type: 'integer', in: 'query' },
    unused: { type: 'string', in: 'query' },
  });
  const { url, body } = buildUpstreamRequest(apiV2, search, {
    q: 'a&b=c #d',
    ids: [1, 2, 3],
    filter: { status: 'open' },
    active: false,
    limit: 0,
  });
  assert.equal(url.origin + url.pathname, 'https://api.x.com/v2/search');
  assert.equal(url.searchParams.get('q'), 'a&b=c #d');
  assert.equal(url.searchParams.get('ids'), '1,2,3');
  assert.equal(url.searchParams.get('filter'), '{"status":"open"}');
  assert.equal(url.searchParams.get('active'), 'false', 'false is sent, not dropped');
  assert.equal(url.searchParams.get('limit'), '0', 'zero is sent, not dropped');
  assert.equal(url.searchParams.has('unused'), false);
  assert.deepEqual([...url.searchParams.keys()].sort(), ['active', 'filter', 'ids', 'limit', 'q']);
  assert.doesNotMatch(url.search, /[ #]/, 'the raw query carries no unencoded space or fragment');
  assert.equal(body, undefined, 'query params never go into a body');
});

test('body params form one JSON object, path and query params stay out of it', () => {
  const update = tool('PATCH', '/items/{id}', {
    id: { type: 'string', in: 'path' },
    notify: { type: 'boolean', in: 'query' },
    title: { type: 'string', in: 'body' },
    tags: { type: 'array', in: 'body' },
    meta: { type: 'object', in: 'body' },
    count: { type: 'integer', in: 'body' },
  });
  const request = buildUpstreamRequest(api, update, { id: '7', notify: true, title: 'New', tags: ['a'], meta: { x: { y: 1 } }, count: 0 });
  assert.equal(request.method, 'PATCH');
  assert.equal(request.url.href, 'https://api.acme.example/items/7?notify=true');
  assert.ok(request.body !== undefined);
  assert.deepEqual(JSON.parse(request.body), { title: 'New', tags: ['a'], meta: { x: { y: 1 } }, count: 0 });
});

test('a tool with body params sends no body when none of them is given', () => {
  const echo = tool('POST', '/echo', { message: { type: 'string', in: 'body', required: false } });
  assert.equal(buildUpstreamRequest(api, echo, {}).body, undefined);
  assert.equal(buildUpstreamRequest(api, echo, { message: '' }).body, '{"message":""}', 'an empty string is still a value');
});
