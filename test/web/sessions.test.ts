import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { formatKey, generateKey } from '../../src/keys/key-format.js';
import { authorizeUntilRedirect } from '../support/browser.js';
import { bearer, connectionStatus } from '../support/app.js';
import { startWebFixture, type WebFixture } from './support.js';
import { csrfOf, registerOnPage, shownKey, WebClient } from './web-client.js';

/** A well-formed key for the public id of `realKey` with a wrong secret. */
function guessFor(realKey: string): string {
  return formatKey(realKey.split('_')[1] as string, generateKey().key.split('_')[2]?.slice(0, 32) as string);
}

/**
 * The web page below the browser: its session cookie and what is stored of it, timeouts, CSRF,
 * limits per address, the upstream logins' binding to the browser, and what never leaves the
 * server (keys in logs or URLs). Each test uses its own client address (X-Forwarded-For), so the
 * low per-address limits of this fixture only bite where a test wants them to.
 */
describe('web sessions, forms and their protections', { timeout: 60_000 }, () => {
  let f: WebFixture;
  const sha256 = (value: string) => createHash('sha256').update(value).digest();

  before(async () => {
    f = await startWebFixture({ limits: { failedAuthPerIp: 3, registrationsPerIpPerHour: 3 } });
  });
  after(() => f?.close());

  let addresses = 0;
  /** A user registered through the page from an address of its own (this fixture allows 3 per address). */
  async function newUser(name: string): Promise<{ apiKey: string }> {
    addresses += 1;
    return registerOnPage(f.app.url, name, `192.0.2.${addresses}`);
  }

  async function signInWithKey(apiKey: string, address: string): Promise<WebClient> {
    const client = new WebClient(f.app.url, address);
    const landing = await client.get('/');
    const res = await client.post('/sign-in', { csrf_token: csrfOf(landing.html), api_key: apiKey });
    assert.equal(res.status, 303, res.html.slice(0, 300));
    assert.equal(res.location, `${f.app.url}/dashboard`);
    return client;
  }

  it('the session cookie is a random HttpOnly, SameSite=Lax id; only its SHA-256 is stored, never the key', async () => {
    const { apiKey } = await newUser('cookie check');
    const client = new WebClient(f.app.url, '203.0.113.1');
    const landing = await client.get('/');
    const res = await client.post('/sign-in', { csrf_token: csrfOf(landing.html), api_key: apiKey });
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('mcp_web='));
    const [, maxAge] = /^mcp_web=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=(\d+); HttpOnly; SameSite=Lax$/.exec(setCookie ?? '') ?? [];
    assert.ok(maxAge, `HttpOnly, SameSite=Lax, and no Secure on a loopback PUBLIC_URL: ${setCookie}`);
    assert.ok(Math.abs(Number(maxAge) - 7 * 24 * 3600) <= 2, 'the cookie lives as long as the session may');
    const value = client.cookie('mcp_web') as string;
    assert.ok(!value.includes(apiKey));

    // The row is found by the cookie's SHA-256, and holds neither the cookie nor the key.
    const { rows } = await f.app.pool.query<{ row: string; key_id: string; absolute: number }>(
      `SELECT row_to_json(s)::text AS row, key_id, extract(epoch FROM expires_at - created_at)::int AS absolute FROM web_sessions s WHERE id_hash = $1`,
      [sha256(value)],
    );
    assert.equal(rows.length, 1);
    assert.ok(!rows[0]?.row.includes(value) && !rows[0]?.row.includes(apiKey), 'neither the cookie nor the key is stored');
    assert.ok(rows[0]?.key_id, 'the session remembers which key opened it (by id)');
    assert.equal(rows[0]?.absolute, 7 * 24 * 3600);

    assert.equal((await client.get('/dashboard')).status, 200);
    const out = await client.post('/sign-out', { csrf_token: csrfOf((await client.get('/dashboard')).html) });
    assert.equal(out.location, `${f.app.url}/?notice=signed_out`);
    assert.match(out.headers.getSetCookie().join('\n'), /mcp_web=; Path=\/; Max-Age=0/);
    assert.equal((await f.app.pool.query('SELECT 1 FROM web_sessions WHERE id_hash = $1', [sha256(value)])).rowCount, 0, 'sign-out deletes the session');
  });

  it('a session ends after 12 hours unused or 7 days in all', async () => {
    for (const ending of ["last_seen_at = now() - interval '12 hours 1 minute'", "expires_at = now() - interval '1 second'"]) {
      const { client } = await registerOnPage(f.app.url, 'timeouts', '203.0.113.2');
      assert.equal((await client.get('/dashboard')).status, 200);
      await f.app.pool.query(`UPDATE web_sessions SET ${ending} WHERE id_hash = $1`, [sha256(client.cookie('mcp_web') as string)]);
      const res = await client.get('/dashboard');
      assert.equal(res.status, 303, ending);
      assert.equal(res.location, `${f.app.url}/?notice=session_over`);
      assert.match((await client.get('/?notice=session_over')).html, /Your session has ended/);
    }
  });

  it('a session opened with a key ends when that key is revoked, and follows it through a rotation', async () => {
    const { apiKey } = await newUser('key session');
    const client = await signInWithKey(apiKey, '203.0.113.3');
    const own = ((await (await fetch(`${f.app.url}/api/keys`, { headers: bearer(apiKey) })).json()) as { keys: Array<{ id: string }> }).keys[0]?.id as string;

    // Rotating the key the session acts as: the session goes on with the new key.
    const dashboard = await client.get('/dashboard');
    assert.match(dashboard.html, /You signed in with this key/);
    const rotated = await client.post(`/dashboard/keys/${own}/rotate`, { csrf_token: csrfOf(dashboard.html), grace_seconds: '0' });
    assert.equal(rotated.status, 201);
    const newKey = shownKey(rotated.html);
    assert.equal((await client.get('/dashboard')).status, 200, 'still signed in after rotating the sign-in key');
    assert.equal((await fetch(`${f.app.url}/api/keys`, { headers: bearer(apiKey) })).status, 401, 'the old secret stopped');

    // Revoking the new key elsewhere (the API) ends the session at its next request.
    const newId = ((await (await fetch(`${f.app.url}/api/keys`, { headers: bearer(newKey) })).json()) as { keys: Array<{ id: string }> }).keys[0]?.id;
    assert.equal((await fetch(`${f.app.url}/api/keys/${newId}`, { method: 'DELETE', headers: bearer(newKey) })).status, 200);
    assert.equal((await client.get('/dashboard')).location, `${f.app.url}/?notice=session_over`);
  });

  it('a key session acts with that key’s authority: no key without the “keys” scope signs in, and none grants more', async () => {
    const { apiKey } = await newUser('narrow');
    const make = async (scopes: string[]) => {
      const res = await fetch(`${f.app.url}/api/keys`, { method: 'POST', headers: { ...bearer(apiKey), 'content-type': 'application/json' }, body: JSON.stringify({ scopes }) });
      return ((await res.json()) as { api_key: string }).api_key;
    };
    const toolsOnly = await make(['tools:read']);
    const client = new WebClient(f.app.url, '203.0.113.4');
    const refused = await client.post('/sign-in', { csrf_token: csrfOf((await client.get('/')).html), api_key: toolsOnly });
    assert.equal(refused.status, 403);
    assert.match(refused.html, /lacks the “keys” permission/);

    const keysOnly = await make(['keys', 'tools:read']);
    const session = await signInWithKey(keysOnly, '203.0.113.4');
    const page = await session.get('/dashboard');
    assert.match(page.html, /cannot change connections/);
    assert.doesNotMatch(page.html, /Connect Acme/);
    assert.match(page.html, /id="scope-tools-write" name="scopes" value="tools:write" disabled/);
    const beyond = await session.post('/dashboard/keys', { csrf_token: csrfOf(page.html), name: 'wider', scopes: ['tools:write'] });
    assert.equal(beyond.status, 403);
    assert.match(beyond.html, /cannot grant scopes it does not have: tools:write/);
    assert.match(beyond.html, /value="wider"/, 'what was typed is kept');
    const connect = await session.post('/dashboard/connections/acme/connect', { csrf_token: csrfOf(page.html) });
    assert.equal(connect.status, 403);
  });

  it('refused keys and registrations are limited per client address, inline, with Retry-After', async () => {
    const { apiKey } = await newUser('limited');
    const client = new WebClient(f.app.url, '203.0.113.5');
    const token = csrfOf((await client.get('/')).html);
    for (let i = 0; i < 3; i += 1) assert.equal((await client.post('/sign-in', { csrf_token: token, api_key: guessFor(apiKey) })).status, 400);
    const blocked = await client.post('/sign-in', { csrf_token: token, api_key: apiKey });
    assert.equal(blocked.status, 429, 'the key id being guessed waits, even with its secret, once the address is blocked');
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
    assert.match(blocked.html, /Too many invalid API keys from your address/);
    // Someone else behind the same address with a key not guessed at is still checked (docs/security.md).
    const { apiKey: neighbourKey } = await newUser('neighbour');
    assert.equal((await client.post('/sign-in', { csrf_token: token, api_key: neighbourKey })).status, 303);
    const elsewhere = new WebClient(f.app.url, '203.0.113.6');
    assert.equal((await elsewhere.post('/sign-in', { csrf_token: csrfOf((await elsewhere.get('/')).html), api_key: apiKey })).status, 303, 'other addresses are not affected');

    const newcomer = new WebClient(f.app.url, '203.0.113.7');
    const form = csrfOf((await newcomer.get('/')).html);
    for (let i = 0; i < 3; i += 1) assert.equal((await newcomer.post('/register', { csrf_token: form, name: `n${i}` })).status, 201);
    const tooMany = await newcomer.post('/register', { csrf_token: form, name: 'Kept Name' });
    assert.equal(tooMany.status, 429);
    assert.ok(Number(tooMany.headers.get('retry-after')) > 0);
    assert.match(tooMany.html, /Too many new accounts from your address/);
    assert.match(tooMany.html, /value="Kept Name"/);
  });

  it('forms need the token bound to this browser or session, from this site: otherwise 403', async () => {
    const anonymous = new WebClient(f.app.url, '203.0.113.8');
    const token = csrfOf((await anonymous.get('/')).html);
    assert.equal((await anonymous.post('/register', { name: 'no token' })).status, 403);
    assert.equal((await anonymous.post('/register', { csrf_token: token, name: 'cross site' }, { 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal((await new WebClient(f.app.url, '203.0.113.8').post('/register', { csrf_token: token })).status, 403, 'a token is worthless without its cookie');

    const { client } = await registerOnPage(f.app.url, 'csrf', '203.0.113.8');
    const before = await f.app.pool.query('SELECT count(*)::int AS n FROM api_keys');
    const withAnonymousToken = await client.post('/dashboard/keys', { csrf_token: token, name: 'x', scopes: 'tools:read' });
    assert.equal(withAnonymousToken.status, 403, 'signed-in forms take the session’s own token');
    assert.match(withAnonymousToken.html, /Form expired/);
    assert.deepEqual((await f.app.pool.query('SELECT count(*)::int AS n FROM api_keys')).rows, before.rows);
    const good = await client.post('/dashboard/keys', { csrf_token: csrfOf((await client.get('/dashboard')).html), name: 'x', scopes: 'tools:read' });
    assert.equal(good.status, 201);
  });

  it('an upstream login the page started only completes in the browser that started it', async () => {
    const { client, apiKey } = await registerOnPage(f.app.url, 'victim', '203.0.113.9');
    const started = await client.post('/dashboard/connections/acme/connect', { csrf_token: csrfOf((await client.get('/dashboard')).html) });
    assert.equal(started.status, 303);
    assert.ok(started.location?.startsWith(f.upstream.issuer), 'off to the upstream');
    const callback = await authorizeUntilRedirect(started.location as string, 'mallory');

    const elsewhere = new WebClient(f.app.url, '198.51.100.1');
    const refused = await elsewhere.get(callback.href);
    assert.equal(refused.status, 403);
    assert.match(refused.html, /started in a different browser/);
    assert.equal((await connectionStatus(f.app, apiKey)).connected, false);

    // The same for a sign-in: another browser cannot finish it (and so is not signed in as anyone).
    const visitor = new WebClient(f.app.url, '198.51.100.2');
    const signIn = await visitor.post('/sign-in/upstream', { csrf_token: csrfOf((await visitor.get('/')).html), provider: 'acme' });
    const signInCallback = await authorizeUntilRedirect(signIn.location as string, 'someone');
    const stranger = await new WebClient(f.app.url, '198.51.100.3').get(signInCallback.href);
    assert.equal(stranger.status, 403);
    assert.equal(stranger.headers.getSetCookie().some((c) => c.startsWith('mcp_web=') && !c.startsWith('mcp_web=;')), false, 'no session');

    // In the right browser it goes through, back to the dashboard.
    const again = await client.post('/dashboard/connections/acme/connect', { csrf_token: csrfOf((await client.get('/dashboard')).html) });
    const done = await client.get((await authorizeUntilRedirect(again.location as string, 'victim')).href);
    assert.equal(done.location, `${f.app.url}/dashboard?notice=connected&provider=acme#connections`);
    assert.equal((await connectionStatus(f.app, apiKey)).account_id, 'victim');
  });

  it('the dashboard names every provider’s status in words: connected, needs re-authorization, shared key, not connected', async () => {
    const { client, apiKey } = await registerOnPage(f.app.url, 'statuses', '203.0.113.15');
    const badge = (html: string, provider: string) => new RegExp(`id="provider-${provider}"><div class="card-head"><h3>[^<]+</h3><span class="badge [a-z]+">([^<]+)</span>`).exec(html)?.[1];
    let page = await client.get('/dashboard');
    assert.equal(badge(page.html, 'acme'), 'Not connected');
    assert.equal(badge(page.html, 'hitl'), 'Not connected');
    assert.equal(badge(page.html, 'notes'), 'Using the shared key');
    assert.match(page.html, /This server's shared Notes key serves you until you add your own/);

    const started = await client.post('/dashboard/connections/acme/connect', { csrf_token: csrfOf(page.html) });
    await client.get((await authorizeUntilRedirect(started.location as string, 'statuses')).href);
    page = await client.get('/dashboard');
    assert.equal(badge(page.html, 'acme'), 'Connected');
    assert.match(page.html, />Reconnect Acme</);

    // The upstream refused our refresh token: the person is told, and offered to reconnect.
    await f.app.pool.query(`UPDATE connections SET reauth_required_at = now() WHERE provider_id = 'acme' AND account_id = 'statuses'`);
    page = await client.get('/dashboard');
    assert.equal(badge(page.html, 'acme'), 'Needs re-authorization');
    assert.match(page.html, /Acme refused to renew our access/);
    assert.equal((await connectionStatus(f.app, apiKey)).needs_reauthorization, true);
  });

  it('every page has a strict CSP, no inline script or style, and escapes what people typed', async () => {
    const name = '<script>alert("x")</script> & "Bob"';
    const { client, page: registered } = await registerOnPage(f.app.url, name, '203.0.113.11');
    const dashboard = await client.get('/dashboard');
    const created = await client.post('/dashboard/keys', { csrf_token: csrfOf(dashboard.html), name: '<img src=x onerror=alert(1)>', scopes: 'tools:read' });
    const pages = {
      landing: await new WebClient(f.app.url, '203.0.113.11').get('/'),
      registered,
      dashboard: await client.get('/dashboard'),
      created,
      csrf: await client.post('/dashboard/keys', {}),
      callback: await client.get('/api/connect/acme/callback?state=unknown&code=x'),
    };
    for (const [what, page] of Object.entries(pages)) {
      const csp = page.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, what);
      assert.match(csp, /script-src 'self'(;|$)/, what);
      assert.match(csp, /frame-ancestors 'none'/, what);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, what);
      assert.equal(page.headers.get('x-frame-options'), 'DENY', what);
      assert.equal(page.headers.get('cache-control'), 'no-store', what);
      assert.doesNotMatch(page.html, /<script(?![^>]*\bsrc=)[^>]*>|<style|<[^>]*\s(style|on[a-z]+)=/i, `${what}: no inline script, style or handler`);
    }
    assert.match(pages.dashboard.html, /Signed in as &#60;script&#62;alert\(&#34;x&#34;\)&#60;\/script&#62; &#38; &#34;Bob&#34;/);
    assert.match(pages.registered.html, /Your account is ready, &#60;script&#62;/);
    assert.match(pages.created.html, /&#60;img src=x onerror=alert\(1\)&#62;/);
  });

  it('keys never appear in a log line or a URL', async () => {
    const { client, apiKey } = await registerOnPage(f.app.url, 'quiet', '203.0.113.13');
    const locations: string[] = [];
    const landing = await client.post('/sign-out', { csrf_token: csrfOf((await client.get('/dashboard')).html) });
    locations.push(landing.location ?? '');
    const again = new WebClient(f.app.url, '203.0.113.13');
    const signedIn = await again.post('/sign-in', { csrf_token: csrfOf((await again.get('/')).html), api_key: apiKey });
    locations.push(signedIn.location ?? '');
    const created = await again.post('/dashboard/keys', { csrf_token: csrfOf((await again.get('/dashboard')).html), name: 'logged?', scopes: 'tools:read' });
    const second = shownKey(created.html);
    const setKey = await again.post('/dashboard/connections/hitl/key', { csrf_token: csrfOf((await again.get('/dashboard')).html), api_key: 'hk_live_good_key_1234' });
    locations.push(setKey.location ?? '');
    const logs = f.app.logs.join('\n');
    for (const secret of [apiKey, second, 'hk_live_good_key_1234']) {
      assert.ok(!logs.includes(secret), 'not in the logs');
      assert.ok(!locations.some((l) => l.includes(secret)), 'not in a redirect');
    }
    assert.ok(logs.includes('/dashboard/keys'), 'the requests were logged');
  });

  it('pages stay small; the stylesheet and script are cached by content hash', async () => {
    const { client } = await registerOnPage(f.app.url, 'sizes', '203.0.113.14');
    const landing = await new WebClient(f.app.url, '203.0.113.14').get('/');
    const dashboard = await client.get('/dashboard');
    const css = await fetch(`${f.app.url}${/href="(\/static\/web\.css\?v=[^"]+)"/.exec(landing.html)?.[1]}`);
    const js = await fetch(`${f.app.url}${/src="(\/static\/web\.js\?v=[^"]+)"/.exec(landing.html)?.[1]}`);
    assert.equal(css.status, 200);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal(css.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const sizes = {
      landing: Buffer.byteLength(landing.html),
      dashboard: Buffer.byteLength(dashboard.html),
      css: (await css.arrayBuffer()).byteLength,
      js: (await js.arrayBuffer()).byteLength,
    };
    assert.ok(sizes.landing < 8_000, `landing ${sizes.landing} B`);
    assert.ok(sizes.dashboard < 30_000, `dashboard ${sizes.dashboard} B`);
    assert.ok(sizes.css < 16_000, `css ${sizes.css} B`);
    assert.ok(sizes.js < 4_000, `js ${sizes.js} B`);
    assert.equal((await fetch(`${f.app.url}/static/nope.css`)).status, 404);
  });
});
