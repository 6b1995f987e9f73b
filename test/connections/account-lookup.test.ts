import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, connectionStatus, register, registerAndConnect, startAppWithUpstream } from '../support/app.js';
import { authorizeInBrowser, authorizeUntilRedirect } from '../support/browser.js';
import { csrfOf, WebClient } from '../web/web-client.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

/**
 * Issue 14: a GitHub-like upstream whose token response names no account (no `openid` scope, so
 * no id_token; no account field) is asked with the new token, `GET /user` → `{ id, login }`.
 * The answer names the connection (status, dashboard) and signs people in.
 */
describe('account lookup by request', () => {
  let f: Fixture;
  before(async () => {
    f = await startAppWithUpstream({
      provider: { scopes: ['offline_access', 'read'], account: { request: { method: 'GET', path: '/user' }, id: 'id', name: 'login' } },
    });
  });
  after(() => f.close());

  it('names the connection after the token exchange: status and the dashboard show the login, status the id', async () => {
    const { apiKey } = await registerAndConnect(f.app, 'octocat');
    const status = await connectionStatus(f.app, apiKey);
    assert.match(status.account_id ?? '', /^\d+$/, 'the stable numeric id, as GitHub gives it');
    assert.equal(status.account_name, 'octocat');
    const lookups = f.upstream.apiRequests.filter((r) => r.path === '/api/user');
    assert.ok(lookups.length >= 1 && lookups.every((r) => /^Bearer /.test(r.authorization ?? '')), 'asked with the new token');
  });

  it('signs a person in on the web page through it, and knows them again next time', async () => {
    const signIn = async (): Promise<WebClient> => {
      const browser = new WebClient(f.app.url, '203.0.113.90');
      const home = await browser.get('/');
      assert.match(home.html, /Sign in with Acme/);
      const started = await browser.post('/sign-in/upstream', { csrf_token: csrfOf(home.html), provider: 'acme' });
      assert.equal(started.status, 303, started.html);
      const callback = await authorizeUntilRedirect(started.location ?? '', 'hubber');
      const landed = await browser.get(callback.pathname + callback.search);
      assert.equal(landed.status, 303, landed.html);
      return browser;
    };
    const first = await signIn();
    const dashboard = await first.get('/dashboard');
    assert.equal(dashboard.status, 200);
    assert.match(dashboard.html, /Signed in as hubber/, 'the new user is named after the login, not the number');
    assert.match(dashboard.html, /Account <code>hubber<\/code> \(id \d+\)/);
    await signIn();
    const users = await f.app.pool.query(`SELECT count(*)::int AS n FROM users WHERE name = 'hubber'`);
    assert.equal(users.rows[0].n, 1, 'the second sign-in found the same user');
  });

  it('a lookup the upstream refuses fails the connection with a page that says so, and stores nothing', async () => {
    const broken = await startAppWithUpstream({
      provider: { scopes: ['offline_access', 'read'], account: { request: { path: '/status/503' }, id: 'id' } },
    });
    try {
      const { apiKey } = await register(broken.app, 'unlucky');
      const start = await fetch(`${broken.app.url}/api/connect/acme/start`, { headers: bearer(apiKey) });
      const { authorization_url } = (await start.json()) as { authorization_url: string };
      const done = await authorizeInBrowser(authorization_url, 'unlucky', apiKey);
      assert.equal(done.status, 400);
      assert.match(done.body, /asking it which account logged in failed \(\/api\/status\/503 answered HTTP 503\)/);
      assert.equal((await connectionStatus(broken.app, apiKey)).connected, false);
    } finally {
      await broken.close();
    }
  });

  it('an OpenID Connect userinfo endpoint names the account too', async () => {
    const oidc = await startAppWithUpstream({ provider: (up) => ({ account: { userinfo_url: `${up.issuer}/me` } }) });
    try {
      const { apiKey } = await registerAndConnect(oidc.app, 'userinfo-person');
      const status = await connectionStatus(oidc.app, apiKey);
      assert.equal(status.account_id, 'userinfo-person');
    } finally {
      await oidc.close();
    }
  });
});
