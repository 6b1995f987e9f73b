import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { bearer, register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { csrfOf, WebClient } from '../web/web-client.js';

/**
 * Issue 15, hostile input: a generated corpus (fast-check, fixed seed, bounded runs) against
 * /mcp, the OAuth endpoints, the API and the web forms. Every answer must be the contract's
 * error, a valid JSON-RPC answer or one of our pages — never a 5xx — and /healthz stays OK.
 * Tool arguments that try to leave `api_base_url` or inject headers go to a real loopback
 * upstream that records every request it gets.
 */
const SEED = 15_2026;
const RUNS = 100;
const BASE_PATH = '/v1/base';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

describe('hostile input never gets a 5xx, never leaves api_base_url', () => {
  let db: TestDatabase;
  let app: TestApp;
  let apiKey: string;
  const seen: Seen[] = [];
  const upstream = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });

  before(async () => {
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}${BASE_PATH}`;
    db = await createTestDatabase();
    app = await startApp({
      databaseUrl: db.url,
      env: { FZ_FALLBACK_KEY: 'fz-operator-key' },
      limits: { keyPerMinute: 100_000, keyPerHour: 1_000_000, failedAuthPerIp: 100_000 },
      providers: [
        {
          id: 'fz',
          name: 'Fuzz',
          auth: 'api_key',
          api_key: { header: 'Authorization', template: 'Bearer {key}' },
          fallback_key: '${FZ_FALLBACK_KEY}',
          api_base_url: base,
          tools: [
            { name: 'fz_get_item', description: 'One item', method: 'GET', path: '/items/{id}', params: { id: { type: 'string', in: 'path', required: true } } },
            {
              name: 'fz_note',
              description: 'A note of an item',
              method: 'GET',
              path: '/items/{id}/notes/{note}.json',
              params: { id: { type: 'string', in: 'path', required: true }, note: { type: 'string', in: 'path', required: true } },
            },
            { name: 'fz_search', description: 'Search', method: 'GET', path: '/search', params: { q: { type: 'string', in: 'query' }, tags: { type: 'array', in: 'query' } } },
            { name: 'fz_echo', description: 'Echo', method: 'POST', path: '/echo', params: { message: { type: 'string', in: 'body', required: true } } },
          ],
        },
      ],
    });
    ({ apiKey } = await register(app, 'fuzzer'));
  });
  after(async () => {
    await app.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
    await db.drop();
  });

  const send = async (method: string, path: string, init: { headers?: Record<string, string>; body?: Uint8Array | string } = {}) => {
    const res = await fetch(`${app.url}${path}`, { method, redirect: 'manual', headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body } : {}) });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  type Answer = Awaited<ReturnType<typeof send>>;

  const healthy = async () => assert.equal((await fetch(`${app.url}/healthz`)).status, 200, '/healthz is OK');

  /** The contract's error, a JSON-RPC answer (for /mcp), or — where a browser is the client — a page or a redirect. */
  const assertAcceptable = (a: Answer, where: string, allow: { rpc?: boolean; html?: boolean; redirect?: boolean; empty?: boolean } = {}) => {
    const context = `${where}: ${a.status} ${a.type} ${a.text.slice(0, 300)}`;
    assert.ok(a.status < 500, context);
    if (a.status >= 300 && a.status < 400) return assert.ok(allow.redirect, context);
    if (a.text === '') return assert.ok(allow.empty || a.status === 202 || a.status === 204, context);
    if (a.type.startsWith('text/html')) return assert.ok(allow.html, context);
    assert.match(a.type, /^application\/json/, context);
    const body = JSON.parse(a.text) as unknown;
    if (allow.rpc && isRpcAnswer(body)) return;
    if (a.status >= 400) assert.ok(isContractError(body), context);
  };

  const contentType = fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'application/merge-patch+json',
    'text/plain',
    'text/plain;charset=UTF-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    '*/*',
    'application/json; charset=',
    'garbage',
    '',
  );
  const text = fc.string({ unit: 'binary', maxLength: 40 });
  const rawId = fc.oneof(
    fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
    fc.integer().map(String),
    text.map((s) => JSON.stringify(s)),
    fc.constantFrom('null', '1.5', '-0', '1e400', '1e21', '{}', '[]', 'true', '"\\u0000"', '12345678901234567890'),
  );
  const toolName = fc.oneof(fc.constantFrom('fz_get_item', 'fz_note', 'fz_search', 'fz_echo'), text);
  const paramsText = fc.oneof(
    fc.constant(''),
    fc.json({ maxDepth: 3 }),
    fc.record({ name: toolName, arguments: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.dictionary(text, text)) }).map((p) => JSON.stringify(p)),
  );
  /** One JSON-RPC-ish message as text, so huge ids stay exactly as written. */
  const rpcMessage = fc
    .record({
      jsonrpc: fc.constantFrom('"2.0"', '"1.0"', '2', 'null', ''),
      id: fc.option(rawId, { nil: '' }),
      method: fc.oneof(fc.constantFrom('ping', 'tools/list', 'tools/call', 'initialize', 'notifications/initialized', 'resources/list', 'rpc.x', ''), text),
      params: paramsText,
    })
    .map(({ jsonrpc, id, method, params }) => {
      const parts = [jsonrpc && `"jsonrpc":${jsonrpc}`, id && `"id":${id}`, `"method":${JSON.stringify(method)}`, params && `"params":${params}`];
      return `{${parts.filter(Boolean).join(',')}}`;
    });
  const depth = fc.integer({ min: 1, max: 20_000 });
  const mcpBody: fc.Arbitrary<Uint8Array | string> = fc.oneof(
    { weight: 4, arbitrary: rpcMessage },
    { weight: 3, arbitrary: fc.array(rpcMessage, { maxLength: 6 }).map((m) => `[${m.join(',')}]`) },
    { weight: 1, arbitrary: fc.json() },
    { weight: 1, arbitrary: depth.map((n) => `${'['.repeat(n)}${']'.repeat(n)}`) },
    { weight: 1, arbitrary: depth.map((n) => `{"jsonrpc":"2.0","id":1,"method":"ping","params":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 300_000 }).map((n) => `{"jsonrpc":"2.0","id":"${'x'.repeat(n)}","method":"ping"}`) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '[1,', '"\\ud800"', '{"jsonrpc":"2.0","id":1,"method":"ping"}x', '\ufeff{"jsonrpc":"2.0","id":1,"method":"ping"}') },
  );

  it('/mcp: malformed JSON-RPC, batches, huge ids and strings, deep nesting, bad bytes and odd content types', async () => {
    await fc.assert(
      fc.asyncProperty(mcpBody, contentType, fc.constantFrom('application/json, text/event-stream', 'application/json', '*/*', ''), async (body, type, accept) => {
        const headers: Record<string, string> = { ...bearer(apiKey), 'mcp-protocol-version': '2025-06-18' };
        if (type) headers['content-type'] = type;
        if (accept) headers.accept = accept;
        assertAcceptable(await send('POST', '/mcp', { headers, body }), 'POST /mcp', { rpc: true });
      }),
      { seed: SEED, numRuns: RUNS },
    );
    await healthy();
  });

  it('the API: odd bodies, content types and parameters', async () => {
    const path = fc.oneof(
      fc.constantFrom('/api/keys', '/api/users/register', '/api/connect/fz/key', '/api/keys/00000000-0000-4000-8000-000000000000/rotate'),
      text.map((s) => `/api/connect/${encodeURIComponent(s)}/status`),
      fc.constantFrom('/api/connect/%E0%A4%A/status', '/api/keys/%', '/api/connect/%00/start', '/api/usage?from=%ZZ', '/api/%c0%af'),
      fc.tuple(text, text).map(([from, to]) => `/api/usage?${new URLSearchParams({ from, to })}`),
      fc.tuple(text, text).map(([limit, before]) => `/api/audit?${new URLSearchParams({ limit, before })}`),
    );
    const body = fc.oneof(fc.json({ maxDepth: 4 }), fc.jsonValue().map((v) => JSON.stringify({ name: v, scopes: v, api_key: v, grace_seconds: v, expires_in: v, rate_limit: v })), fc.uint8Array({ maxLength: 200 }), fc.constant(undefined));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), path, body, contentType, async (method, p, b, type) => {
        const headers: Record<string, string> = { ...bearer(apiKey) };
        if (type) headers['content-type'] = type;
        const sendBody = method === 'GET' ? undefined : b;
        assertAcceptable(await send(method, p, { headers, ...(sendBody !== undefined ? { body: sendBody } : {}) }), `${method} ${p}`, { html: p.includes('/callback') });
      }),
      { seed: SEED, numRuns: RUNS },
    );
    await healthy();
  });

  it('the OAuth endpoints: registration, token, revocation, authorize', async () => {
    const form = fc.dictionary(fc.constantFrom('grant_type', 'code', 'redirect_uri', 'client_id', 'client_secret', 'code_verifier', 'refresh_token', 'token', 'resource', 'scope'), text, { maxKeys: 6 });
    const dcr = fc.record(
      { client_name: fc.oneof(text, fc.jsonValue()), redirect_uris: fc.oneof(fc.array(fc.oneof(text, fc.webUrl())), fc.jsonValue()), grant_types: fc.jsonValue(), token_endpoint_auth_method: fc.oneof(text, fc.constantFrom('none', 'client_secret_basic')) },
      { requiredKeys: [] },
    );
    const request = fc.oneof(
      fc.tuple(dcr.map((d) => JSON.stringify(d)), contentType).map(([b, t]) => ({ method: 'POST', path: '/oauth/register', body: b as string | undefined, type: t })),
      fc.tuple(fc.constantFrom('/oauth/token', '/oauth/revoke'), form, contentType).map(([p, f, t]) => ({ method: 'POST', path: p, body: new URLSearchParams(f).toString() as string | undefined, type: t })),
      fc.tuple(fc.constantFrom('/oauth/token', '/oauth/revoke', '/oauth/register'), fc.uint8Array({ maxLength: 200 }), contentType).map(([p, b, t]) => ({ method: 'POST', path: p, body: Buffer.from(b).toString('latin1') as string | undefined, type: t })),
      fc
        .dictionary(fc.constantFrom('response_type', 'client_id', 'redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method', 'resource'), text, { maxKeys: 8 })
        .map((q) => ({ method: 'GET', path: `/oauth/authorize?${new URLSearchParams(q)}`, body: undefined, type: '' })),
      fc.constantFrom('/oauth/authorize?client_id=%ZZ', '/oauth/authorize?state=%00', '/api/connect/fz/callback?code=%ff&state=%fe').map((p) => ({ method: 'GET', path: p, body: undefined, type: '' })),
    );
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, body, type }) => {
        const headers: Record<string, string> = type ? { 'content-type': type } : {};
        const answer = await send(method, path, { headers, ...(body !== undefined ? { body } : {}) });
        assertAcceptable(answer, `${method} ${path}`, { html: method === 'GET', redirect: method === 'GET', empty: path === '/oauth/revoke' });
      }),
      { seed: SEED, numRuns: RUNS },
    );
    await healthy();
  });

  it('the web forms: every field of every form, with a valid CSRF token', async () => {
    const web = new WebClient(app.url, '203.0.113.77');
    const csrf = csrfOf((await web.get('/')).html);
    const field = fc.oneof(text, fc.string({ maxLength: 300 }), fc.constantFrom('\u0000', 'sk_x', '\r\n', '%00', ''));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/register', '/sign-in', '/sign-in/upstream', '/connect/confirm'), fc.dictionary(fc.constantFrom('name', 'api_key', 'provider', 'request', 'decision'), field), async (path, fields) => {
        const page = await web.post(path, { csrf_token: csrf, ...fields });
        assertAcceptable({ status: page.status, type: page.headers.get('content-type') ?? '', text: page.html }, `POST ${path}`, { html: true, redirect: true });
      }),
      { seed: SEED, numRuns: 40 },
    );
    await healthy();
  });

  it('HTTP the parser refuses (NUL or CR in a header, a broken request line) gets a 400 in the contract shape', async () => {
    const { port } = new URL(app.url);
    for (const raw of ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n', 'GET / HTTP/9\r\n\r\n', '\u0016\u0003\u0001\u0002\u0000\r\n\r\n']) {
      const answer = await rawExchange(Number(port), raw);
      assert.match(answer, /^HTTP\/1\.1 400 /, JSON.stringify(raw));
      assert.ok(isContractError(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))), answer);
    }
    await healthy();
  });

  it('oversized headers and bodies get 431 and 413 in the contract shape', async () => {
    const big = await send('GET', '/healthz', { headers: { 'x-big': 'a'.repeat(40_000) } });
    assert.equal(big.status, 431);
    assertAcceptable(big, 'oversized header');
    for (const path of ['/api/keys', '/mcp', '/oauth/register', '/oauth/token']) {
      const type = path === '/oauth/token' ? 'application/x-www-form-urlencoded' : 'application/json';
      const answer = await send('POST', path, { headers: { ...bearer(apiKey), 'content-type': type, accept: 'application/json, text/event-stream' }, body: `{"name":"${'x'.repeat(2 * 1024 * 1024)}"}` });
      assert.equal(answer.status, 413, path);
      assertAcceptable(answer, `oversized body to ${path}`);
    }
    await healthy();
  });

  it('tool arguments with ../, %2e%2e, ?, #, CR/LF and @ stay inside api_base_url and inject no header', async () => {
    const fragment = fc.constantFrom('../', '..', '.', '%2e%2e', '%2E%2e/', '..%2f', '%2f', '/', '\\', '?', '#', '\r\n', '\r\nX-Injected: 1', '%0d%0aX-Injected:%201', '\n', '@', 'evil.example@', '//evil.example/', 'http://evil.example/', '%', '%00', '\u0000', '&', '=', ';', ' ', '\u2024\u2024', '\uff0e\uff0e', '\ud800');
    const hostile = fc.array(fc.oneof({ weight: 3, arbitrary: fragment }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) }), { minLength: 1, maxLength: 6 }).map((p) => p.join(''));
    const call = fc.oneof(
      hostile.map((id) => ({ name: 'fz_get_item', arguments: { id } as Record<string, unknown> })),
      fc.tuple(hostile, hostile).map(([id, note]) => ({ name: 'fz_note', arguments: { id, note } as Record<string, unknown> })),
      fc.tuple(hostile, fc.array(hostile, { maxLength: 3 })).map(([q, tags]) => ({ name: 'fz_search', arguments: { q, tags } as Record<string, unknown> })),
      hostile.map((message) => ({ name: 'fz_echo', arguments: { message } as Record<string, unknown> })),
    );
    // Some runs first store the user's own upstream key, itself hostile: it travels in a header.
    const userKey = fc.option(hostile, { freq: 4 });
    let id = 0;
    let upstreamKey = 'fz-operator-key';
    await fc.assert(
      fc.asyncProperty(call, userKey, async (c, key) => {
        if (key !== null) {
          const put = await send('PUT', '/api/connect/fz/key', { headers: { ...bearer(apiKey), 'content-type': 'application/json' }, body: JSON.stringify({ api_key: key }) });
          assertAcceptable(put, 'PUT /api/connect/fz/key');
          if (put.status === 200) upstreamKey = key.trim();
        }
        const before = seen.length;
        const answer = await send('POST', '/mcp', {
          headers: { ...bearer(apiKey), 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: c }),
        });
        assertAcceptable(answer, `tools/call ${JSON.stringify(c)}`, { rpc: true });
        const requests = seen.slice(before);
        assert.ok(requests.length <= 1);
        for (const r of requests) {
          assertInsideBase(r);
          // The key travels as exactly the one header its template makes, whatever it contains.
          assert.equal(r.headers.authorization, `Bearer ${upstreamKey}`);
        }
        // A path param that reached the upstream arrived whole, in its own segment.
        const request = requests[0];
        if (request && c.name === 'fz_get_item') {
          assert.equal(request.url, `${BASE_PATH}/items/${encodeURIComponent(String(c.arguments.id))}`);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    assert.ok(seen.length > RUNS / 3, `most calls reached the upstream (${seen.length})`);
    for (const r of seen) assertInsideBase(r);
    await healthy();
    assert.ok(!app.logs.some((line) => line.includes('unhandled error')), 'no unhandled error was logged');
  });
});

/** A request the upstream got stays under the base path, with no dot segment and no foreign header. */
function assertInsideBase(r: Seen): void {
  const path = r.url.split('?', 1)[0] ?? '';
  assert.ok(path.startsWith(`${BASE_PATH}/`), r.url);
  assert.equal(new URL(r.url, 'http://upstream.invalid').pathname, path, `no dot segments: ${r.url}`);
  for (const segment of path.split('/')) {
    const decoded = safeDecode(segment);
    assert.ok(decoded !== '.' && decoded !== '..', `no encoded dot segment: ${r.url}`);
  }
  assert.ok(!r.url.includes('#'), r.url);
  assert.equal(r.headers['x-injected'], undefined, 'no injected header');
  for (const [name, value] of Object.entries(r.headers)) assert.ok(!/[\r\n]/.test(String(value)), `header ${name}`);
  assert.deepEqual(Object.keys(r.headers).filter((h) => !['host', 'connection', 'accept', 'user-agent', 'authorization', 'content-type', 'content-length', 'accept-encoding'].includes(h)), []);
}

/** Sends raw bytes on a fresh connection; resolves with everything the server sent before closing. */
function rawExchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(raw));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function isContractError(body: unknown): boolean {
  const b = body as Record<string, unknown> | null;
  return typeof b === 'object' && b !== null && typeof b.error === 'string' && typeof b.error_description === 'string';
}

function isRpcAnswer(body: unknown): boolean {
  if (Array.isArray(body)) return body.length > 0 && body.every(isRpcAnswer);
  const b = body as Record<string, unknown> | null;
  if (typeof b !== 'object' || b === null || b.jsonrpc !== '2.0' || !('id' in b)) return false;
  if ('result' in b === 'error' in b) return false;
  if ('error' in b) {
    const e = b.error as Record<string, unknown> | null;
    return typeof e === 'object' && e !== null && Number.isInteger(e.code) && typeof e.message === 'string';
  }
  return true;
}
