import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authorizeInBrowser, confirmInBrowser } from '../support/browser.js';
import { bearer, register, startAppWithUpstream } from '../support/app.js';
import { csrfOf, registerOnPage, WebClient } from '../web/web-client.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

/**
 * Issue 18, item 1: a start link from GET /api/connect/:provider/start must not let anybody but
 * the key's owner attach an upstream account to the key's user. Mallory starts a flow and sends
 * the link to a victim; whatever the victim does, Mallory's user ends up with no connection.
 */
describe('API connect links are bound to their owner', () => {
  let f: Fixture;
  before(async () => {
    f = await startAppWithUpstream();
  });
  after(() => f.close());

  async function start(apiKey: string): Promise<{ authorization_url: string; state: string; message: string }> {
    const res = await fetch(`${f.app.url}/api/connect/acme/start`, { headers: bearer(apiKey) });
    assert.equal(res.status, 200);
    return (await res.json()) as { authorization_url: string; state: string; message: string };
  }
  async function connected(apiKey: string): Promise<boolean> {
    const res = await fetch(`${f.app.url}/api/connect/acme/status`, { headers: bearer(apiKey) });
    return ((await res.json()) as { connected: boolean }).connected;
  }
  const confirmPath = (url: string) => new URL(url).pathname + new URL(url).search;

  it('a victim who opens the link cannot confirm it: not without a key, not with their own key', async () => {
    const mallory = await register(f.app, 'Mallory');
    const victim = await register(f.app, 'Victim');
    const link = await start(mallory.apiKey);
    assert.match(link.message, /confirm/);

    const browser = new WebClient(f.app.url, '203.0.113.50');
    const page = await browser.get(confirmPath(link.authorization_url));
    assert.equal(page.status, 200);
    assert.match(page.html, /Connect Acme\?/);
    assert.match(page.html, /Mallory/, 'the page names whose account the link is for');
    assert.match(page.html, /somebody else sent you this link/);
    const fields = { csrf_token: csrfOf(page.html), state: link.state };

    const empty = await browser.post('/connect/confirm', { ...fields, api_key: '' });
    assert.equal(empty.status, 400);
    const own = await browser.post('/connect/confirm', { ...fields, api_key: victim.apiKey });
    assert.equal(own.status, 403);
    assert.match(own.html, /not the key that asked for this link/);
    assert.equal(own.location, undefined, 'never sent on to the upstream');
    // Claiming a session it does not have changes nothing either.
    const claimed = await browser.post('/connect/confirm', { ...fields, use_session: '1' });
    assert.equal(claimed.status, 400);
    assert.equal(await connected(mallory.apiKey), false);
  });

  it('an upstream login reached without confirming stores nothing (403), even with the right state', async () => {
    const mallory = await register(f.app, 'Mallory 2');
    const { state } = await start(mallory.apiKey);
    // Mallory builds the upstream login herself from the public pieces and her state.
    const direct = new URL(f.upstream.authorizationUrl);
    direct.search = new URLSearchParams({
      client_id: f.upstream.clientId,
      response_type: 'code',
      redirect_uri: `${f.app.url}/api/connect/acme/callback`,
      scope: 'openid offline_access read',
      state,
      prompt: 'consent',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const done = await authorizeInBrowser(direct.href, 'victim-2');
    assert.equal(done.status, 403);
    assert.match(done.body, /never confirmed/);
    assert.equal(await connected(mallory.apiKey), false);
    assert.equal((await f.app.pool.query(`SELECT 1 FROM connections WHERE account_id = 'victim-2'`)).rowCount, 0);
  });

  it('a link Mallory confirmed herself does not finish in the victim’s browser', async () => {
    const mallory = await register(f.app, 'Mallory 3');
    const link = await start(mallory.apiKey);
    const { upstreamUrl } = await confirmInBrowser(link.authorization_url, mallory.apiKey);
    // The victim's browser has none of Mallory's cookies.
    const done = await authorizeInBrowser(upstreamUrl, 'victim-3');
    assert.equal(done.status, 403);
    assert.match(done.body, /different browser/);
    assert.equal(await connected(mallory.apiKey), false);
  });

  it('the owner confirms with the key and connects; the link then works no more', async () => {
    const owner = await register(f.app, 'Owner');
    const link = await start(owner.apiKey);
    const done = await authorizeInBrowser(link.authorization_url, 'owner-account', owner.apiKey);
    assert.equal(done.status, 200, done.body);
    assert.match(done.body, /Acme is connected/);
    assert.equal(await connected(owner.apiKey), true);
    const again = await fetch(link.authorization_url);
    assert.equal(again.status, 404);
  });

  it('a web session of the same user confirms without the key; another user’s session does not', async () => {
    const { client, apiKey } = await registerOnPage(f.app.url, 'Signed in', '203.0.113.60');
    const link = await start(apiKey);
    const page = await client.get(confirmPath(link.authorization_url));
    assert.equal(page.status, 200);
    assert.match(page.html, /signed in here as that account/);
    assert.ok(!page.html.includes('name="api_key"'), 'no key asked for');
    const ok = await client.post('/connect/confirm', { csrf_token: csrfOf(page.html), state: link.state, use_session: '1' });
    assert.equal(ok.status, 303);
    assert.equal(new URL(ok.location ?? '').origin, new URL(f.upstream.authorizationUrl).origin);

    const other = await registerOnPage(f.app.url, 'Someone else', '203.0.113.61');
    const foreign = await start(apiKey);
    const otherPage = await other.client.get(confirmPath(foreign.authorization_url));
    assert.match(otherPage.html, /name="api_key"/, 'another user must type the key');
    const refused = await other.client.post('/connect/confirm', { csrf_token: csrfOf(otherPage.html), state: foreign.state, use_session: '1' });
    assert.equal(refused.status, 400);
    assert.equal(refused.location, undefined);
  });

  it('wrong keys typed on the confirm page count toward the per-address limit', async () => {
    const owner = await register(f.app, 'Limited');
    const link = await start(owner.apiKey);
    const browser = new WebClient(f.app.url, '203.0.113.70');
    const page = await browser.get(confirmPath(link.authorization_url));
    const fields = { csrf_token: csrfOf(page.html), state: link.state };
    const statuses: number[] = [];
    for (let i = 0; i < 25; i += 1) {
      statuses.push((await browser.post('/connect/confirm', { ...fields, api_key: `sk_${'x'.repeat(12)}_${'y'.repeat(38)}` })).status);
    }
    assert.ok(statuses.includes(429), `refused keys must be limited, got ${statuses.join(',')}`);
  });
});
