import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { bearer, connectionStatus, register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { demoLoginInBrowser, hiddenFields } from '../support/demo-browser.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { sleep } from '../support/time.js';
import { csrfOf, registerOnPage } from '../web/web-client.js';

/** Demo access tokens live this long here, so the proxy's refresh (after half of it) is seen within the test. */
const TTL_SECONDS = 4;

/**
 * Issue 14: the built-in demo upstream. Two people connect two demo accounts through the real
 * connect flow (API start → our confirm page → the demo's login page → our callback), use its
 * tools through the MCP SDK client and each see only their own notes; refresh and revocation run
 * against the demo's own token and revocation endpoints.
 */
describe('the built-in demo upstream', () => {
  let db: TestDatabase;
  let app: TestApp;
  const clients: Client[] = [];

  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, demo: { accessTokenTtlSeconds: TTL_SECONDS } });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app.close();
    await db.drop();
  });

  async function connectDemo(apiKey: string, login: string): Promise<void> {
    const start = await fetch(`${app.url}/api/connect/demo/start`, { headers: bearer(apiKey) });
    assert.equal(start.status, 200);
    const { authorization_url } = (await start.json()) as { authorization_url: string };
    const done = await demoLoginInBrowser(authorization_url, apiKey, login);
    assert.equal(done.status, 200, done.body);
    assert.match(done.body, /Demo is connected/);
  }
  async function mcp(apiKey: string): Promise<Client> {
    const client = await connectMcp(app.url, apiKey);
    clients.push(client);
    return client;
  }

  it('two users connect two demo accounts and each sees only their own notes', async () => {
    const ann = await register(app, 'Ann');
    const ben = await register(app, 'Ben');
    await connectDemo(ann.apiKey, 'alice');
    await connectDemo(ben.apiKey, 'bob');
    assert.equal((await connectionStatus(app, ann.apiKey, 'demo')).account_id, 'alice');
    assert.equal((await connectionStatus(app, ben.apiKey, 'demo')).account_id, 'bob');

    const annMcp = await mcp(ann.apiKey);
    const benMcp = await mcp(ben.apiKey);
    const tools = (await annMcp.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(tools, ['demo_add_note', 'demo_delete_note', 'demo_get_note', 'demo_list_notes', 'demo_whoami']);

    const added = await annMcp.callTool({ name: 'demo_add_note', arguments: { text: 'buy milk' } });
    assert.equal(added.isError, undefined, textOf(added));
    const noteId = (JSON.parse(textOf(added)) as { id: string }).id;
    await benMcp.callTool({ name: 'demo_add_note', arguments: { text: 'call mum' } });

    const annNotes = JSON.parse(textOf(await annMcp.callTool({ name: 'demo_list_notes', arguments: {} }))) as { notes: Array<{ text: string }> };
    const benNotes = JSON.parse(textOf(await benMcp.callTool({ name: 'demo_list_notes', arguments: {} }))) as { notes: Array<{ text: string }> };
    assert.deepEqual(annNotes.notes.map((n) => n.text), ['buy milk']);
    assert.deepEqual(benNotes.notes.map((n) => n.text), ['call mum']);
    assert.equal((JSON.parse(textOf(await benMcp.callTool({ name: 'demo_whoami', arguments: {} }))) as { login: string }).login, 'bob');

    // Ben cannot reach Ann's note by its id: the demo answers per account.
    const foreign = await benMcp.callTool({ name: 'demo_get_note', arguments: { id: noteId } });
    assert.equal(foreign.isError, true);
    assert.match(textOf(foreign), /404/);
    const removed = await annMcp.callTool({ name: 'demo_delete_note', arguments: { id: noteId } });
    assert.equal(removed.isError, undefined, textOf(removed));
  });

  it('an expiring demo token is refreshed through the demo token endpoint, and tools keep working', async () => {
    const user = await register(app, 'Refresher');
    await connectDemo(user.apiKey, 'carol');
    const client = await mcp(user.apiKey);
    const first = await connectionStatus(app, user.apiKey, 'demo');
    const grants = async () => (await app.pool.query<{ n: number }>(`SELECT count(DISTINCT grant_id)::int AS n FROM demo_tokens WHERE account = 'carol' AND kind = 'refresh'`)).rows[0]?.n;
    const refreshHash = async () => (await app.pool.query<{ h: Buffer }>(`SELECT token_hash AS h FROM demo_tokens WHERE account = 'carol' AND kind = 'refresh'`)).rows[0]?.h.toString('hex');
    const before = await refreshHash();
    // Past half the lifetime the token is due: the next call refreshes it first.
    await sleep((TTL_SECONDS / 2) * 1000 + 300);
    const result = await client.callTool({ name: 'demo_whoami', arguments: {} });
    assert.equal(result.isError, undefined, textOf(result));
    const second = await connectionStatus(app, user.apiKey, 'demo');
    assert.ok(new Date(second.expires_at ?? 0) > new Date(first.expires_at ?? 0), 'a new access token was stored');
    assert.notEqual(await refreshHash(), before, 'the refresh token was rotated');
    assert.equal(await grants(), 1, 'still one grant');
  });

  it('disconnecting revokes the grant at the demo; the tools then say how to connect', async () => {
    const user = await register(app, 'Leaver');
    await connectDemo(user.apiKey, 'dave');
    const client = await mcp(user.apiKey);
    assert.equal((await client.callTool({ name: 'demo_whoami', arguments: {} })).isError, undefined);
    const tokens = async () => (await app.pool.query(`SELECT 1 FROM demo_tokens WHERE account = 'dave'`)).rowCount;
    assert.equal(await tokens(), 2);
    const gone = await fetch(`${app.url}/api/connect/demo`, { method: 'DELETE', headers: bearer(user.apiKey) });
    assert.equal(gone.status, 200);
    assert.equal(await tokens(), 0, 'the demo forgot the access and the refresh token');
    const after = await client.callTool({ name: 'demo_whoami', arguments: {} });
    assert.equal(after.isError, true);
    assert.match(textOf(after), /connect/i);
  });

  it('the login page says it is a demo, and the demo serves only its own client and redirect URI with PKCE', async () => {
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    const params = {
      response_type: 'code',
      client_id: 'mcp-oauth-proxy-demo',
      redirect_uri: `${app.url}/api/connect/demo/callback`,
      state: 's1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    const page = await fetch(`${app.url}/demo/authorize?${new URLSearchParams(params)}`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Demo upstream/);
    assert.match(html, /name="login"/);
    assert.match(html, /name="password"/);
    assert.equal(hiddenFields(html).get('redirect_uri'), params.redirect_uri);

    const otherRedirect = await fetch(`${app.url}/demo/authorize?${new URLSearchParams({ ...params, redirect_uri: 'https://evil.example/cb' })}`, { redirect: 'manual' });
    assert.equal(otherRedirect.status, 400, 'never sent to an unregistered redirect URI');
    const otherClient = await fetch(`${app.url}/demo/authorize?${new URLSearchParams({ ...params, client_id: 'someone' })}`, { redirect: 'manual' });
    assert.equal(otherClient.status, 400);
    const noPkce = await fetch(`${app.url}/demo/authorize?${new URLSearchParams({ ...params, code_challenge: '' })}`, { redirect: 'manual' });
    assert.equal(noPkce.status, 303);
    assert.equal(new URL(noPkce.headers.get('location') ?? '').searchParams.get('error'), 'invalid_request');

    // A code is single use and needs its verifier.
    const form = new URLSearchParams({ ...params, scope: '', login: 'eve', password: 'x', decision: 'allow' });
    const login = await fetch(`${app.url}/demo/authorize`, { method: 'POST', body: form, redirect: 'manual' });
    const code = new URL(login.headers.get('location') ?? '').searchParams.get('code') ?? '';
    assert.match(code, /^demo_code_/);
    const token = await fetch(`${app.url}/demo/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: params.redirect_uri, client_id: params.client_id, code_verifier: 'x'.repeat(43) }),
    });
    assert.equal(token.status, 400);
    assert.equal(((await token.json()) as { error: string }).error, 'invalid_grant');
  });

  it('the web page connects the demo the way the README tells a newcomer: Connect, log in with a name, back on the dashboard', async () => {
    const { client } = await registerOnPage(app.url, 'Web newcomer', '203.0.113.120');
    const dashboard = await client.get('/dashboard');
    assert.match(dashboard.html, /id="provider-demo"/);
    const started = await client.post('/dashboard/connections/demo/connect', { csrf_token: csrfOf(dashboard.html) });
    assert.equal(started.status, 303);
    assert.equal(new URL(started.location ?? '').pathname, '/demo/authorize');
    const login = await client.get(new URL(started.location ?? '').pathname + new URL(started.location ?? '').search);
    assert.equal(login.status, 200);
    const fields = Object.fromEntries(hiddenFields(login.html));
    const answer = await client.post('/demo/authorize', { ...fields, login: 'webby', password: 'x', decision: 'allow' });
    assert.equal(answer.status, 303);
    const back = await client.get(new URL(answer.location ?? '').pathname + new URL(answer.location ?? '').search);
    assert.equal(back.status, 303, back.html);
    const after = await client.get(back.location ? new URL(back.location).pathname + new URL(back.location).search : '/dashboard');
    assert.match(after.html, /Demo is connected/);
    assert.match(after.html, /Account <code>webby<\/code>/);
  });

  it('the demo is not offered for signing in: anybody can log in to it as any name', async () => {
    const home = await fetch(`${app.url}/`);
    assert.doesNotMatch(await home.text(), /Sign in with Demo/);
  });
});
