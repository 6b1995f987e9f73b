import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, register, startAppWithUpstream } from '../support/app.js';
import { authorizationUrl, pkcePair, registerPublicClient } from '../oauth/support.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

const GENERIC = 'Something went wrong on our side. Please try again.';

/**
 * Issue 17, one error renderer: every surface answers in its own form — the contract's JSON, an
 * HTML page, JSON-RPC on /mcp — and a failure nobody foresaw (here: a table that is not there)
 * is a generic 500 in that form, logged with its cause, never showing SQL.
 */
describe('errors on every surface', () => {
  let f: Fixture;
  let apiKey: string;
  let clientId: string;
  before(async () => {
    f = await startAppWithUpstream();
    ({ apiKey } = await register(f.app));
    clientId = await registerPublicClient(f.app.url);
  });
  after(() => f.close());

  /** Runs `fn` while `table` is missing, as if a migration had gone wrong. */
  async function withoutTable<T>(table: string, fn: () => Promise<T>): Promise<T> {
    await f.app.pool.query(`ALTER TABLE ${table} RENAME TO ${table}_gone`);
    try {
      return await fn();
    } finally {
      await f.app.pool.query(`ALTER TABLE ${table}_gone RENAME TO ${table}`);
    }
  }

  const loggedCause = (relation: string) =>
    f.app.logs.some((line) => line.includes('"msg":"unhandled error"') && line.includes(`relation \\"${relation}\\" does not exist`));

  it('the JSON API keeps the contract shapes: 401 with WWW-Authenticate, 404, 400', async () => {
    const unauthorized = await fetch(`${f.app.url}/api/usage`);
    assert.equal(unauthorized.status, 401);
    assert.match(unauthorized.headers.get('www-authenticate') ?? '', /^Bearer /);
    assert.equal(unauthorized.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(Object.keys((await unauthorized.json()) as object), ['error', 'error_description']);

    const missing = await fetch(`${f.app.url}/api/nothing-here`, { headers: bearer(apiKey) });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: 'not_found', error_description: 'No route for GET /api/nothing-here.' });

    const badJson = await fetch(`${f.app.url}/api/users/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    assert.equal(badJson.status, 400);
    assert.deepEqual(await badJson.json(), { error: 'invalid_request', error_description: 'The request body is not valid JSON.' });
  });

  it('/mcp keeps its JSON-RPC errors and the contract JSON for HTTP-level refusals', async () => {
    const mcpInit = (body: string, headers: Record<string, string> = bearer(apiKey)): RequestInit => ({
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
    });
    const parse = await fetch(`${f.app.url}/mcp`, mcpInit('{not json'));
    assert.equal(parse.status, 400);
    assert.deepEqual(await parse.json(), { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: Invalid JSON' }, id: null });

    const get = await fetch(`${f.app.url}/mcp`, { headers: { ...bearer(apiKey), accept: 'text/event-stream' } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.deepEqual(await get.json(), { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: GET /mcp (this server is stateless; use POST).' }, id: null });

    const noKey = await fetch(`${f.app.url}/mcp`, mcpInit('{}', {}));
    assert.equal(noKey.status, 401);
    assert.match(noKey.headers.get('www-authenticate') ?? '', /resource_metadata=/);
    const body = (await noKey.json()) as Record<string, unknown>;
    assert.equal(body.error, 'unauthorized');
    assert.equal(typeof body.error_description, 'string');
  });

  it('an unforeseen failure on the JSON API is a generic 500, logged with its cause', async () => {
    const res = await withoutTable('tool_usage', () => fetch(`${f.app.url}/api/usage`, { headers: bearer(apiKey) }));
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.deepEqual(JSON.parse(text), { error: 'server_error', error_description: GENERIC });
    assert.doesNotMatch(text, /tool_usage|relation|SELECT/);
    assert.ok(loggedCause('tool_usage'), 'the cause is in the log');
  });

  it('an unforeseen failure on the authorization page is a generic 500 page, not JSON and not a redirect', async () => {
    const res = await withoutTable('oauth_authorization_requests', () => fetch(authorizationUrl(f.app.url, clientId, pkcePair().challenge), { redirect: 'manual' }));
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('location'), null);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const html = await res.text();
    assert.match(html, /Something went wrong/);
    assert.doesNotMatch(html, /oauth_authorization_requests|relation/);
    assert.ok(loggedCause('oauth_authorization_requests'));
  });

  it('an unforeseen failure in the upstream callback is a generic 500 page; a used link stays a 4xx page', async () => {
    const res = await withoutTable('oauth_states', () => fetch(`${f.app.url}/api/connect/acme/callback?code=c&state=s`));
    assert.equal(res.status, 500);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /Connection failed/);
    assert.match(html, new RegExp(GENERIC.replace('.', '\\.')));
    assert.doesNotMatch(html, /oauth_states|relation/);
    assert.ok(loggedCause('oauth_states'));

    const unknown = await fetch(`${f.app.url}/api/connect/acme/callback?code=c&state=s`);
    assert.equal(unknown.status, 400);
    assert.match(await unknown.text(), /This link is unknown or has already been used/);
    const noProvider = await fetch(`${f.app.url}/api/connect/nope/callback?code=c&state=s`);
    assert.equal(noProvider.status, 404);
    assert.match(await noProvider.text(), /Connection failed/);
  });

  it('an unforeseen failure on the web page is a generic 500 page', async () => {
    const res = await withoutTable('web_sessions', () => fetch(`${f.app.url}/dashboard`, { headers: { cookie: 'mcp_web=anything' }, redirect: 'manual' }));
    assert.equal(res.status, 500);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /Something went wrong/);
    assert.doesNotMatch(html, /web_sessions|relation/);
    assert.ok(loggedCause('web_sessions'));
  });
  it('an unforeseen failure inside a tool call is an isError result that shows no SQL, logged with its cause', async () => {
    const res = await withoutTable('connections', () =>
      fetch(`${f.app.url}/mcp`, {
        method: 'POST',
        headers: { ...bearer(apiKey), 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
      }),
    );
    const raw = await res.text();
    assert.equal(res.status, 200, raw);
    const body = JSON.parse(raw) as { id: number; result: { isError: boolean; content: Array<{ text: string }> } };
    assert.ok(body.result, raw);
    assert.equal(body.id, 7);
    assert.equal(body.result.isError, true);
    const text = body.result.content.map((c) => c.text).join(' ');
    assert.match(text, /failed inside this server/);
    assert.doesNotMatch(text, /connections|relation|SELECT/);
    assert.ok(f.app.logs.some((line) => line.includes('tool call failed unexpectedly') && line.includes('relation \\"connections\\" does not exist')));
  });
});
