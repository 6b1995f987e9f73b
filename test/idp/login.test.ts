import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser } from 'playwright-core';
import { connectWithOAuth, TestBrowser, TestOAuthProvider } from '../oauth/support.js';
import { startApp, type TestApp } from '../support/app.js';
import { authorizeUntilRedirect, CookieJar } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startIdp, type TestIdp } from '../support/idp.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';
import { textOf } from '../support/mcp-client.js';
import { browserSkipReason, launchChromium, loginAtUpstream, newPage } from '../web/support.js';

/**
 * Login mode: people sign in on the web page through the organisation's IdP (OIDC code + PKCE +
 * nonce), and MCP clients that only know this server's authorization server sign in through the
 * same IdP on its consent page. The seed flow: IdP sign-in → dashboard → set the HITL key → an MCP
 * client calls HITL tools with that key (and with the operator's fallback key for a user without one).
 */
describe('login mode: "Sign in with <IdP>" on the web page and the consent page', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let idp: TestIdp;
  let hitl: KeyUpstream;
  let app: TestApp;
  const clients: Client[] = [];

  before(async () => {
    db = await createTestDatabase();
    // Like Entra ID or Google: no dynamic registration, so MCP clients come to this server's authorization server.
    idp = await startIdp({ registration: false });
    hitl = await startKeyUpstream({ accounts: { 'hk-ivy': 'ivy-account', 'hk-operator': 'operator-account' }, style: { header: 'Authorization', template: 'Bearer {key}' } });
    app = await startApp({
      databaseUrl: db.url,
      providers: [keyProvider(hitl, { fallback_key: '${HITL_API_KEY}' })],
      env: { HITL_API_KEY: 'hk-operator' },
      idpEnv: (url) => {
        idp.setLoginRedirectUris([`${url}/sign-in/idp/callback`]);
        return { IDP_ISSUER: idp.issuer, IDP_CLIENT_ID: idp.loginClient.id, IDP_CLIENT_SECRET: idp.loginClient.secret, IDP_NAME: 'Acme SSO' };
      },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app.close();
    await Promise.all([idp.close(), hitl.close()]);
    await db.drop();
  });

  const whoami = async (client: Client): Promise<string> => {
    const result = await client.callTool({ name: 'hitl_whoami', arguments: {} });
    assert.equal(result.isError, undefined, textOf(result));
    return (JSON.parse(textOf(result)) as { account: string }).account;
  };

  it('seed flow in Chromium: IdP login page → dashboard → HITL key "Connected"; then an MCP client signs in through the IdP and calls tools as that user', { skip: browserSkipReason() }, async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const context = await browser.newContext();
      const { page, problems } = await newPage(context, app.url);
      await page.goto(app.url);
      await page.click('button:has-text("Sign in with Acme SSO")');
      await page.waitForURL((url) => url.origin === idp.issuer);
      await loginAtUpstream(page, 'ivy');
      await page.waitForURL(/\/dashboard\?notice=signed_in/);
      assert.equal(await page.textContent('.notice'), 'Signed in.');
      await page.fill('#key-hitl', 'hk-ivy');
      await page.click('#provider-hitl button:has-text("Save key")');
      await page.waitForURL(/notice=key_saved/);
      assert.equal(await page.textContent('#provider-hitl .badge'), 'Connected');
      assert.deepEqual(problems, []);
    } finally {
      await browser?.close();
    }
    const { rows } = await app.pool.query<{ user_id: string; email: string }>("SELECT user_id, email FROM user_identities WHERE subject = 'ivy'");
    assert.equal(rows[0]?.email, 'ivy@example.test');

    // An MCP client that only knows this server's authorization server (DCR), signing in via the IdP.
    const provider = new TestOAuthProvider(new TestBrowser(app.url, 'ivy'), { choice: { decision: 'allow_idp' } });
    const client = await connectWithOAuth(app.url, provider);
    clients.push(client);
    assert.match(provider.tokens()?.access_token ?? '', /^mcp_at_/, "this server's own token");
    assert.equal(await whoami(client), 'ivy-account', "the tool call carries ivy's own HITL key");
    assert.equal((await app.pool.query("SELECT 1 FROM user_identities WHERE subject = 'ivy'")).rowCount, 1, 'the same user, not a new one');
  });

  it('the resource metadata lists this server first when clients cannot register at the IdP', async () => {
    const prm = (await (await fetch(`${app.url}/.well-known/oauth-protected-resource`)).json()) as { authorization_servers: string[] };
    assert.deepEqual(prm.authorization_servers, [app.url, idp.issuer]);
  });

  it('a user who set no key gets the operator’s fallback key; the consent page offers the IdP first', async () => {
    const browser = new TestBrowser(app.url, 'jack');
    const provider = new TestOAuthProvider(browser, { choice: { decision: 'allow_idp' } });
    const client = await connectWithOAuth(app.url, provider);
    clients.push(client);
    assert.equal(await whoami(client), 'operator-account');
    // A browser with no session here sees the consent page, the IdP as its first choice.
    const page = await (await new TestBrowser(app.url, 'someone').get(provider.authorizationUrls[0] as URL)).text();
    assert.match(page, /<button class="primary" type="submit">Allow and sign in with Acme SSO<\/button>/);
  });

  it('a callback is single-use, bound to the browser that started it, and needs a nonce-matching id_token', async () => {
    // Start a web sign-in in one "browser" and finish the IdP login…
    const jar = new CookieJar();
    const home = new URL(app.url);
    const landing = await fetch(home, { headers: jar.headersFor(home) });
    jar.store(home, landing.headers.getSetCookie());
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(await landing.text())?.[1] ?? '';
    const start = new URL('/sign-in/idp', app.url);
    const started = await fetch(start, { method: 'POST', redirect: 'manual', headers: { ...jar.headersFor(start), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf_token: csrf }) });
    assert.equal(started.status, 303);
    const authorize = new URL(started.headers.get('location') ?? '');
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authorize.searchParams.get('nonce'));
    const callback = await authorizeUntilRedirect(authorize.href, 'kate');
    assert.equal(callback.pathname, '/sign-in/idp/callback');

    // …another browser (no binding cookie) cannot use it, and afterwards nobody can.
    const elsewhere = await fetch(callback, { redirect: 'manual' });
    assert.equal(elsewhere.status, 403);
    const replay = await fetch(callback, { redirect: 'manual', headers: jar.headersFor(callback) });
    assert.equal(replay.status, 400, 'the state was consumed');
    assert.equal((await app.pool.query("SELECT 1 FROM user_identities WHERE subject = 'kate'")).rowCount, 0);

    // A fresh, correct round trip works and signs the browser in.
    const again = await fetch(start, { method: 'POST', redirect: 'manual', headers: { ...jar.headersFor(start), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf_token: csrf }) });
    const back = await authorizeUntilRedirect(new URL(again.headers.get('location') ?? '').href, 'kate');
    const done = await fetch(back, { redirect: 'manual', headers: jar.headersFor(back) });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), '/dashboard?notice=signed_in');
    assert.match(done.headers.getSetCookie().join(';'), /mcp_web=/);
  });
});
