import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseProviders } from '../../src/providers/load.js';
import { signInWarnings } from '../../src/providers/sign-in-providers.js';
import { register, startApp, upstreamProvider, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { csrfOf, WebClient } from '../web/web-client.js';
import { authorizationUrl, pkcePair, registerPublicClient, TestBrowser } from './support.js';

/**
 * An OAuth provider whose login does not say which account logged in (no `account_id_field`,
 * no `openid` scope) cannot sign anyone in: it is not offered for that anywhere, so nobody logs
 * in upstream only to be told at the end that it did not work. It still connects the account of
 * a user known here.
 */
describe('a provider that cannot name its account', { timeout: 60_000 }, () => {
  let db: TestDatabase;
  let upstream: TestUpstream;
  let app: TestApp;

  before(async () => {
    db = await createTestDatabase();
    app = await startApp({
      databaseUrl: db.url,
      providers: async (url) => {
        upstream = await startUpstream({ redirectUris: [`${url}/api/connect/acme/callback`] });
        return [upstreamProvider(upstream, { scopes: ['read'] })];
      },
    });
  });
  after(async () => {
    await app?.close();
    await upstream?.close();
    await db?.drop();
  });

  it('is not offered on the start page, and the form refuses it', async () => {
    const client = new WebClient(app.url);
    const landing = await client.get('/');
    assert.equal(landing.status, 200);
    assert.doesNotMatch(landing.html, /Sign in with Acme/);
    assert.match(landing.html, /Sign in with key/);
    const post = await client.post('/sign-in/upstream', { csrf_token: csrfOf(landing.html), provider: 'acme' });
    assert.equal(post.status, 400);
    assert.equal(post.location, undefined, 'the browser is not sent to the upstream');
  });

  it('is not offered on the consent page, yet connects the account of a user who allows with a key', async () => {
    const clientId = await registerPublicClient(app.url);
    const { challenge } = pkcePair();
    const browser = new TestBrowser(app.url, 'acme-user');
    const url = authorizationUrl(app.url, clientId, challenge);
    const consent = await browser.get(url);
    const html = await consent.text();
    assert.equal(consent.status, 200);
    assert.doesNotMatch(html, /Allow and sign in with/);
    // With nothing else to choose, the API-key way in is shown open.
    assert.match(html, /<details class="more" open>/);

    // A forged "allow" naming the provider is refused on our page, before any upstream visit.
    const handle = /name="request" value="([^"]+)"/.exec(html)?.[1] as string;
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1] as string;
    const forged = await browser.post(new URL('/oauth/authorize/decision', app.url), new URLSearchParams({ request: handle, csrf_token: csrf, decision: 'allow', provider: 'acme' }));
    assert.equal(forged.status, 400);
    assert.match(await forged.text(), /Choose which account/);

    const { apiKey } = await register(app);
    const { redirect, page } = await new TestBrowser(app.url, 'acme-user').signIn(authorizationUrl(app.url, clientId, challenge), { decision: 'allow_key', apiKey });
    assert.ok(redirect?.searchParams.get('code'), `no code: ${redirect?.href ?? page?.body.slice(0, 300)}`);
    assert.equal(upstream.tokenCalls.authorization_code, 1, 'the account was connected on the way');
  });

  it('gets a start-up warning that says what to add; providers that name their account get none', () => {
    const endpoints = { authorizationUrl: 'https://a.example/auth', tokenUrl: 'https://a.example/token', revocationUrl: 'https://a.example/revoke', apiBaseUrl: 'https://a.example/api', clientId: 'c', clientSecret: 's' };
    const providers = parseProviders(
      {
        providers: [
          upstreamProvider(endpoints, { scopes: ['read'] }),
          upstreamProvider(endpoints, { id: 'oidc', scopes: ['openid'], tools: [] }),
          upstreamProvider(endpoints, { id: 'field', scopes: [], account_id_field: 'user_id', tools: [] }),
        ],
      },
      {},
    );
    const warnings = signInWarnings(providers);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /provider "acme" is not offered for signing in/);
    assert.match(warnings[0] ?? '', /account_id_field/);
    assert.match(warnings[0] ?? '', /"openid" to "scopes"/);
  });
});
