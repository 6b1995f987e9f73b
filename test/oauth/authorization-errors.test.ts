import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAppWithUpstream } from '../support/app.js';
import { authorizeUntilRedirect } from '../support/browser.js';
import { authorizationUrl, consentForm, pkcePair, REDIRECT_URI, registerPublicClient, TestBrowser } from './support.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

/** The error redirect a client receives, as a plain object. */
function errorOf(location: string | null): Record<string, string> {
  assert.ok(location, 'a redirect');
  const url = new URL(location);
  assert.equal(url.origin + url.pathname, REDIRECT_URI);
  return Object.fromEntries(url.searchParams);
}

describe('the authorization endpoint refuses what it must', () => {
  let f: Fixture;
  let clientId: string;
  before(async () => {
    f = await startAppWithUpstream();
    clientId = await registerPublicClient(f.app.url, { client_name: '<img src=x onerror=alert(1)> Evil' });
  });
  after(() => f.close());

  const codesIssued = async () => Number((await f.app.pool.query<{ n: string }>('SELECT count(*) AS n FROM oauth_codes')).rows[0]?.n);

  it('an unknown client or an unregistered redirect URI gets a page, never a redirect', async () => {
    const { challenge } = pkcePair();
    const cases = [
      authorizationUrl(f.app.url, 'mcp_client_unknown', challenge),
      authorizationUrl(f.app.url, clientId, challenge, { redirect_uri: 'https://attacker.example/cb' }),
      authorizationUrl(f.app.url, clientId, challenge, { redirect_uri: 'http://127.0.0.1:9/other' }),
      authorizationUrl(f.app.url, clientId, challenge, { redirect_uri: undefined }),
      authorizationUrl(f.app.url, clientId, challenge, { client_id: undefined }),
    ];
    for (const url of cases) {
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 400, url.href);
      assert.equal(res.headers.get('location'), null, url.href);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await res.text(), /Unknown application|Invalid sign-in link/);
    }
  });

  it('a loopback redirect URI matches on any port (RFC 8252 §7.3)', async () => {
    const res = await fetch(authorizationUrl(f.app.url, clientId, pkcePair().challenge, { redirect_uri: 'http://127.0.0.1:54321/callback' }), { redirect: 'manual' });
    assert.equal(res.status, 200);
  });

  it('after the redirect URI is verified, errors go back to the client with state and iss', async () => {
    const { challenge } = pkcePair();
    const cases: Array<[Record<string, string | undefined>, string]> = [
      [{ code_challenge: undefined }, 'invalid_request'],
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge_method: undefined }, 'invalid_request'],
      [{ code_challenge: 'short' }, 'invalid_request'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ resource: undefined }, 'invalid_target'],
      [{ resource: 'https://other.example/mcp' }, 'invalid_target'],
      [{ resource: `${f.app.url}/` }, 'invalid_target'],
      [{ resource: `${f.app.url}/mcp#frag` }, 'invalid_target'],
    ];
    for (const [overrides, error] of cases) {
      const res = await fetch(authorizationUrl(f.app.url, clientId, challenge, overrides), { redirect: 'manual' });
      assert.equal(res.status, 303, JSON.stringify(overrides));
      const params = errorOf(res.headers.get('location'));
      assert.equal(params.error, error, JSON.stringify(overrides));
      assert.equal(params.state, 'state-123');
      assert.equal(params.iss, f.app.url);
    }
  });

  it('prompt=none never shows a page: without a signed-in browser it is login_required', async () => {
    const res = await fetch(authorizationUrl(f.app.url, clientId, pkcePair().challenge, { prompt: 'none' }), { redirect: 'manual' });
    assert.equal(res.status, 303);
    const params = errorOf(res.headers.get('location'));
    assert.equal(params.error, 'login_required');
    assert.equal(params.state, 'state-123');
  });

  it('the resource may carry one trailing slash; the token is bound to the canonical /mcp', async () => {
    const res = await fetch(authorizationUrl(f.app.url, clientId, pkcePair().challenge, { resource: `${f.app.url}/mcp/` }), { redirect: 'manual' });
    assert.equal(res.status, 200);
    const { rows } = await f.app.pool.query('SELECT resource FROM oauth_authorization_requests ORDER BY created_at DESC LIMIT 1');
    assert.equal(rows[0]?.resource, `${f.app.url}/mcp`);
  });

  it('the consent page escapes the client name, shows where it redirects, and cannot be framed', async () => {
    const res = await fetch(authorizationUrl(f.app.url, clientId, pkcePair().challenge), { redirect: 'manual' });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(!html.includes('<img src=x'), 'the client name is escaped');
    assert.match(html, /&#60;img src=x onerror=alert\(1\)&#62; Evil/);
    assert.match(html, /127\.0\.0\.1:9/);
    assert.match(html, /localhost/);
    assert.match(html, /Use every tool, including ones that create, change or delete data/);
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  it('consent refused: access_denied back to the client, and the request cannot be decided again', async () => {
    const browser = new TestBrowser(f.app.url, 'refuser');
    const page = await browser.get(authorizationUrl(f.app.url, clientId, pkcePair().challenge));
    const form = consentForm(await page.text(), { decision: 'deny' });
    const denied = await browser.post(new URL('/oauth/authorize/decision', f.app.url), form);
    assert.equal(denied.status, 303);
    const params = errorOf(denied.headers.get('location'));
    assert.equal(params.error, 'access_denied');
    assert.equal(params.state, 'state-123');
    assert.equal(params.iss, f.app.url);
    form.set('decision', 'allow');
    form.set('provider', 'acme');
    const again = await browser.post(new URL('/oauth/authorize/decision', f.app.url), form);
    assert.equal(again.status, 400);
    assert.match(await again.text(), /expired or was already decided/);
  });

  it('a consent form without the right CSRF token, or from another browser, is 403 and decides nothing', async () => {
    const before = await codesIssued();
    const browser = new TestBrowser(f.app.url, 'victim');
    const page = await browser.get(authorizationUrl(f.app.url, clientId, pkcePair().challenge));
    const html = await page.text();
    const decision = new URL('/oauth/authorize/decision', f.app.url);

    const missing = await browser.post(decision, consentForm(html, { tamper: (form) => form.delete('csrf_token') }));
    assert.equal(missing.status, 403);
    assert.match(await missing.text(), /CSRF/);
    const wrong = await browser.post(decision, consentForm(html, { tamper: (form) => form.set('csrf_token', 'guessed') }));
    assert.equal(wrong.status, 403);
    // A page elsewhere that knows the whole form (its author started the request) still lacks the browser's cookie.
    const elsewhere = await new TestBrowser(f.app.url, 'attacker').post(decision, consentForm(html, {}));
    assert.equal(elsewhere.status, 403);

    // The genuine submission still works afterwards: nothing was decided by the refused ones.
    const genuine = await browser.post(decision, consentForm(html, {}));
    assert.equal(genuine.status, 303);
    assert.equal(new URL(genuine.headers.get('location') ?? '').pathname, '/auth');
    assert.equal(await codesIssued(), before);
  });

  it('an upstream login link opened in another browser does not sign that browser in', async () => {
    const before = await codesIssued();
    const attacker = new TestBrowser(f.app.url, 'attacker');
    const page = await attacker.get(authorizationUrl(f.app.url, clientId, pkcePair().challenge));
    const approved = await attacker.post(new URL('/oauth/authorize/decision', f.app.url), consentForm(await page.text(), {}));
    const upstreamLink = approved.headers.get('location') ?? '';
    // The victim logs in upstream through the attacker's link and lands on our callback.
    const callback = await authorizeUntilRedirect(upstreamLink, 'victim');
    const landed = await new TestBrowser(f.app.url, 'victim').get(callback);
    assert.equal(landed.status, 403);
    assert.equal(landed.headers.get('location'), null);
    assert.match(await landed.text(), /started in a different browser/);
    assert.equal(await codesIssued(), before, 'no code was minted');
    const { rowCount } = await f.app.pool.query("SELECT 1 FROM connections WHERE account_id = 'victim'");
    assert.equal(rowCount, 0, 'the victim’s upstream account was not connected to anyone');
  });

  it('an upstream refusal goes back to the client as access_denied', async () => {
    const browser = new TestBrowser(f.app.url, 'nope');
    const page = await browser.get(authorizationUrl(f.app.url, clientId, pkcePair().challenge));
    const approved = await browser.post(new URL('/oauth/authorize/decision', f.app.url), consentForm(await page.text(), {}));
    const state = new URL(approved.headers.get('location') ?? '').searchParams.get('state') ?? '';
    const callback = new URL(`${f.app.url}/api/connect/acme/callback?error=access_denied&state=${encodeURIComponent(state)}`);
    const res = await browser.get(callback);
    assert.equal(res.status, 303);
    const params = errorOf(res.headers.get('location'));
    assert.equal(params.error, 'access_denied');
    assert.equal(params.state, 'state-123');
  });

  it('a metadata-document client on a private address is refused before any connection (SSRF)', async () => {
    for (const clientId of ['https://127.0.0.1:1/client.json', 'https://10.1.2.3/client.json', 'https://[::ffff:192.168.0.1]/c.json', 'https://localhost/client.json']) {
      const res = await fetch(authorizationUrl(f.app.url, clientId, pkcePair().challenge), { redirect: 'manual' });
      assert.equal(res.status, 400, clientId);
      assert.equal(res.headers.get('location'), null);
      assert.match(await res.text(), /does not fetch from/, clientId);
    }
    const http = await fetch(authorizationUrl(f.app.url, 'https://example.com/', pkcePair().challenge), { redirect: 'manual' });
    assert.equal(http.status, 400);
    assert.match(await http.text(), /must have a path/);
  });
});
