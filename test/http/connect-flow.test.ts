import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authorizeInBrowser, authorizeUntilRedirect, confirmInBrowser, CookieJar } from '../support/browser.js';
import { bearer, register, registerAndConnect, startAppWithUpstream } from '../support/app.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

async function start(f: Fixture, apiKey: string): Promise<{ authorization_url: string; state: string }> {
  const res = await fetch(`${f.app.url}/api/connect/acme/start`, { headers: bearer(apiKey) });
  assert.equal(res.status, 200);
  return (await res.json()) as { authorization_url: string; state: string };
}

/** Starts and confirms a flow as its owner would; the browser's cookies go with the callback. */
async function confirmed(f: Fixture, apiKey: string): Promise<{ upstreamUrl: string; state: string; cookies: CookieJar }> {
  const { authorization_url, state } = await start(f, apiKey);
  return { ...(await confirmInBrowser(authorization_url, apiKey)), state };
}

async function status(f: Fixture, apiKey: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${f.app.url}/api/connect/acme/status`, { headers: bearer(apiKey) });
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

describe('connecting an upstream account', () => {
  let f: Fixture;
  before(async () => {
    f = await startAppWithUpstream();
  });
  after(() => f.close());

  it('start returns a link to the confirm page; confirming leads to the upstream with PKCE S256, state and our redirect URI', async () => {
    const { apiKey } = await register(f.app);
    const { authorization_url, state } = await start(f, apiKey);
    const confirmPage = new URL(authorization_url);
    assert.equal(confirmPage.origin + confirmPage.pathname, `${f.app.url}/connect/confirm`);
    const url = new URL((await confirmInBrowser(authorization_url, apiKey)).upstreamUrl);
    assert.equal(url.origin + url.pathname, f.upstream.authorizationUrl);
    assert.equal(url.searchParams.get('client_id'), f.upstream.clientId);
    assert.equal(url.searchParams.get('redirect_uri'), `${f.app.url}/api/connect/acme/callback`);
    assert.equal(url.searchParams.get('state'), state);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.match(url.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(url.searchParams.get('scope'), 'openid offline_access read');
    assert.equal(url.searchParams.get('prompt'), 'consent');
  });

  it('the browser round trip stores the connection; status shows the account', async () => {
    const { apiKey } = await register(f.app);
    const before = await status(f, apiKey);
    assert.equal(before.connected, false);
    const { authorization_url } = await start(f, apiKey);
    const done = await authorizeInBrowser(authorization_url, 'alice', apiKey);
    assert.equal(done.status, 200);
    assert.match(done.headers.get('content-type') ?? '', /text\/html/);
    assert.match(done.body, /Acme is connected/);
    const after = await status(f, apiKey);
    assert.equal(after.connected, true);
    assert.equal(after.account_id, 'alice');
    assert.equal(after.provider, 'acme');
    assert.ok(Array.isArray(after.scopes) && (after.scopes as string[]).includes('read'));
    assert.ok(typeof after.connected_at === 'string' && !Number.isNaN(Date.parse(after.connected_at)));
    assert.ok(typeof after.expires_at === 'string' && Date.parse(after.expires_at) > Date.now());
  });

  it('a state works once: replaying the callback is refused with an HTML error page', async () => {
    const { apiKey } = await register(f.app);
    const { upstreamUrl, cookies } = await confirmed(f, apiKey);
    const callback = await authorizeUntilRedirect(upstreamUrl, 'bob');
    const first = await fetch(callback, { headers: cookies.headersFor(callback) });
    assert.equal(first.status, 200);
    const replay = await fetch(callback, { headers: cookies.headersFor(callback) });
    assert.equal(replay.status, 400);
    assert.match(replay.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await replay.text(), /unknown or has already been used/);
  });

  it('a forged or missing state is refused and changes nothing', async () => {
    const { apiKey } = await register(f.app);
    const forged = await fetch(`${f.app.url}/api/connect/acme/callback?code=abc&state=forged-state`);
    assert.equal(forged.status, 400);
    assert.match(await forged.text(), /unknown or has already been used/);
    const missing = await fetch(`${f.app.url}/api/connect/acme/callback?code=abc`);
    assert.equal(missing.status, 400);
    assert.equal((await status(f, apiKey)).connected, false);
  });

  it('an expired state is refused', async () => {
    const { apiKey } = await register(f.app);
    const { upstreamUrl, cookies } = await confirmed(f, apiKey);
    const callback = await authorizeUntilRedirect(upstreamUrl, 'carol');
    await f.app.pool.query(`UPDATE oauth_states SET expires_at = now() - interval '1 second'`);
    const res = await fetch(callback, { headers: cookies.headersFor(callback) });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /expired/);
    assert.equal((await status(f, apiKey)).connected, false);
  });

  it('an upstream error= is shown escaped, never as markup', async () => {
    const { apiKey } = await register(f.app);
    const { state, cookies } = await confirmed(f, apiKey);
    const evil = '<script>alert(1)</script>';
    const url = new URL(`${f.app.url}/api/connect/acme/callback?error=access_denied&error_description=${encodeURIComponent(evil)}&state=${state}`);
    const res = await fetch(url, { headers: cookies.headersFor(url) });
    assert.equal(res.status, 400);
    const body = await res.text();
    assert.ok(!body.includes(evil), 'the description must be escaped');
    assert.match(body, /&#60;script&#62;/);
    assert.match(body, /did not grant access/);
  });

  it('a code the upstream refuses is a 400 page, and nothing is stored', async () => {
    const { apiKey } = await register(f.app);
    const { upstreamUrl, cookies } = await confirmed(f, apiKey);
    const callback = await authorizeUntilRedirect(upstreamUrl, 'dave');
    callback.searchParams.set('code', 'not-a-real-code');
    const res = await fetch(callback, { headers: cookies.headersFor(callback) });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Could not finish connecting Acme/);
    assert.equal((await status(f, apiKey)).connected, false);
  });

  it('unknown providers are 404 everywhere', async () => {
    const { apiKey } = await register(f.app);
    for (const path of ['/api/connect/nope/start', '/api/connect/nope/status']) {
      const res = await fetch(`${f.app.url}${path}`, { headers: bearer(apiKey) });
      assert.equal(res.status, 404, path);
      assert.deepEqual(Object.keys((await res.json()) as object).sort(), ['error', 'error_description']);
    }
    const del = await fetch(`${f.app.url}/api/connect/nope`, { method: 'DELETE', headers: bearer(apiKey) });
    assert.equal(del.status, 404);
    const cb = await fetch(`${f.app.url}/api/connect/nope/callback?state=x&code=y`);
    assert.equal(cb.status, 404);
    assert.match(cb.headers.get('content-type') ?? '', /text\/html/);
  });

  it('DELETE revokes at the upstream and forgets the tokens; a second DELETE is 404', async () => {
    const { apiKey } = await registerAndConnect(f.app, 'erin');
    const revocationsBefore = f.upstream.revocations;
    const res = await fetch(`${f.app.url}/api/connect/acme`, { method: 'DELETE', headers: bearer(apiKey) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { message: string; revoked_upstream: boolean };
    assert.equal(body.revoked_upstream, true);
    assert.match(body.message, /revoked/);
    assert.ok(f.upstream.revocations > revocationsBefore, 'the upstream saw the revocation');
    assert.equal((await status(f, apiKey)).connected, false);
    const again = await fetch(`${f.app.url}/api/connect/acme`, { method: 'DELETE', headers: bearer(apiKey) });
    assert.equal(again.status, 404);
  });

  it('connecting again replaces the previous connection', async () => {
    const { apiKey } = await registerAndConnect(f.app, 'frank');
    const { authorization_url } = await start(f, apiKey);
    assert.equal((await authorizeInBrowser(authorization_url, 'frank-2', apiKey)).status, 200);
    assert.equal((await status(f, apiKey)).account_id, 'frank-2');
  });
});
