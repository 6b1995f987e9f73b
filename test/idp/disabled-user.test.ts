import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { STATUS_TTL_MS } from '../../src/keys/key-service.js';
import { IDP_TRUST_MS } from '../../src/idp/user-standing.js';
import { admin } from '../support/admin-cli.js';
import { waitUntil } from '../support/api-client.js';
import { startApp, type TestApp } from '../support/app.js';
import { authorizeUntilRedirect, CookieJar } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startIdp, type TestIdp } from '../support/idp.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';

/** Two instances behind one public URL: the IdP's tokens name it, not either instance. */
const AUDIENCE = 'https://mcp.example.test/mcp';
/** The CLI's commit is done when it exits; this covers the poll's own requests on a loaded machine. */
const SLACK_MS = 1_000;
const CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hitl_whoami', arguments: {} } });

interface Outcome {
  status: number;
  challenge: string;
  account: string | undefined;
}

/** A tools/call as an MCP client sends it (stateless JSON), and who the upstream saw. */
async function whoami(app: TestApp, token: string): Promise<Outcome> {
  const res = await fetch(`${app.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: CALL,
  });
  const text = await res.text();
  const account = res.status === 200 ? /account\\?":\\?"([\w-]+)/.exec(text)?.[1] : undefined;
  return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '', account };
}

/**
 * The operator's `disable-user` reaches IdP tokens as it reaches keys: within 5 s on every
 * instance, however warm the token, and at once for a token not seen before and for web sessions.
 */
describe('a user disabled by the operator loses their IdP tokens within 5 s on every instance', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let idp: TestIdp;
  let hitl: KeyUpstream;
  let first: TestApp;
  let second: TestApp;

  before(async () => {
    db = await createTestDatabase();
    idp = await startIdp();
    hitl = await startKeyUpstream({ accounts: { 'hk-ada': 'ada-account' }, style: { header: 'Authorization', template: 'Bearer {key}' } });
    const providers = [keyProvider(hitl)];
    // One deployment: both instances read what the other encrypted.
    const encryptionKey = randomBytes(32);
    first = await startApp({
      databaseUrl: db.url,
      providers,
      encryptionKey,
      idpEnv: (url) => {
        idp.setLoginRedirectUris([`${url}/sign-in/idp/callback`]);
        return { IDP_ISSUER: idp.issuer, IDP_AUDIENCE: AUDIENCE, IDP_CLIENT_ID: idp.loginClient.id, IDP_CLIENT_SECRET: idp.loginClient.secret, IDP_NAME: 'Acme SSO' };
      },
    });
    second = await startApp({ databaseUrl: db.url, providers, encryptionKey, idpEnv: { IDP_ISSUER: idp.issuer, IDP_AUDIENCE: AUDIENCE } });
  });
  after(async () => {
    await Promise.all([first.close(), second.close()]);
    await Promise.all([idp.close(), hitl.close()]);
    await db.drop();
  });

  /** Signs a browser in on the web page through the IdP; returns its cookies. */
  const webSignIn = async (login: string): Promise<{ jar: CookieJar; landing: Response }> => {
    const jar = new CookieJar();
    const home = new URL(first.url);
    const page = await fetch(home, { headers: jar.headersFor(home) });
    jar.store(home, page.headers.getSetCookie());
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const start = new URL('/sign-in/idp', first.url);
    const started = await fetch(start, { method: 'POST', redirect: 'manual', headers: { ...jar.headersFor(start), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf_token: csrf }) });
    assert.equal(started.status, 303);
    const callback = await authorizeUntilRedirect(started.headers.get('location') ?? '', login);
    const landing = await fetch(callback, { redirect: 'manual', headers: jar.headersFor(callback) });
    jar.store(callback, landing.headers.getSetCookie());
    return { jar, landing };
  };
  const dashboard = async (jar: CookieJar): Promise<Response> => {
    const url = new URL('/dashboard', first.url);
    return fetch(url, { redirect: 'manual', headers: jar.headersFor(url) });
  };
  const refused = (outcome: Outcome, what: string): void => {
    assert.equal(outcome.status, 401, what);
    assert.match(outcome.challenge, /^Bearer .*error="invalid_token"/, what);
  };
  const both = async (token: string): Promise<[Outcome, Outcome]> => Promise.all([whoami(first, token), whoami(second, token)]);

  it('warm tokens within 5 s, new tokens, keys and web sessions at once; enable-user brings them back', async () => {
    const warm = await idp.accessToken('ada', AUDIENCE);
    const put = await fetch(`${first.url}/api/connect/hitl/key`, { method: 'PUT', headers: { authorization: `Bearer ${warm}`, 'content-type': 'application/json' }, body: JSON.stringify({ api_key: 'hk-ada' }) });
    assert.equal(put.status, 200, await put.text());
    const created = await fetch(`${first.url}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${warm}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'laptop' }) });
    assert.equal(created.status, 201);
    const { api_key: apiKey } = (await created.json()) as { api_key: string };
    const { jar } = await webSignIn('ada');
    assert.equal((await dashboard(jar)).status, 200);
    // Both instances have verified (and cached) the token and the key.
    for (const outcome of [...(await both(warm)), ...(await both(apiKey))]) assert.equal(outcome.account, 'ada-account');
    // Minted now, presented only after the disable: never seen by either instance.
    const fresh = await idp.accessToken('ada', AUDIENCE);
    const { rows } = await first.pool.query<{ user_id: string }>("SELECT user_id FROM user_identities WHERE subject = 'ada'");
    const userId = rows[0]?.user_id ?? '';

    const disabled = await admin(db.url, 'disable-user', userId);
    assert.equal(disabled.code, 0, disabled.stderr);
    const disabledAt = Date.now();

    for (const [i, outcome] of (await both(fresh)).entries()) refused(outcome, `a new token of the disabled user, instance ${i + 1}`);
    const api = await fetch(`${second.url}/api/usage`, { headers: { authorization: `Bearer ${fresh}` } });
    assert.equal(api.status, 401, 'on /api too');
    const session = await dashboard(jar);
    assert.equal(session.status, 303, 'the web session from the IdP sign-in is over at once');
    assert.equal(session.headers.get('location'), '/?notice=session_over');
    const again = await webSignIn('ada');
    assert.equal(again.landing.status, 403, 'a new IdP sign-in on the web page is refused');
    assert.match(await again.landing.text(), /Account disabled/);

    await waitUntil(async () => (await both(warm)).every((o) => o.status === 401), IDP_TRUST_MS + SLACK_MS - (Date.now() - disabledAt), 50);
    const cutOff = Date.now() - disabledAt;
    assert.ok(cutOff <= IDP_TRUST_MS + SLACK_MS, `the warm token was cut off on both instances after ${cutOff} ms`);
    for (const [i, outcome] of (await both(warm)).entries()) refused(outcome, `the warm token, instance ${i + 1}`);
    // The same answer as the user's sk_ key gets, in the same time.
    await waitUntil(async () => (await both(apiKey)).every((o) => o.status === 401), STATUS_TTL_MS + SLACK_MS, 50);
    for (const outcome of await both(apiKey)) refused(outcome, 'the sk_ key of the disabled user');

    const enabled = await admin(db.url, 'enable-user', userId);
    assert.equal(enabled.code, 0, enabled.stderr);
    const enabledAt = Date.now();
    await waitUntil(async () => (await both(warm)).every((o) => o.account === 'ada-account'), IDP_TRUST_MS + SLACK_MS, 50);
    assert.ok(Date.now() - enabledAt <= IDP_TRUST_MS + SLACK_MS);
    for (const outcome of [...(await both(fresh)), ...(await both(apiKey))]) assert.equal(outcome.account, 'ada-account');
  });
});
