import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { authorizeInBrowser, authorizeUntilRedirect } from './browser.js';
import { startUpstream } from './upstream.js';
import type { TestUpstream, UpstreamOptions } from './upstream.js';

// Never contacted by authorizeUntilRedirect: it stops as soon as the upstream points here.
const CALLBACK = 'http://127.0.0.1:9/oauth/callback';

async function upstreamFor(t: TestContext, options: Partial<UpstreamOptions> = {}): Promise<TestUpstream> {
  const upstream = await startUpstream({ redirectUris: [CALLBACK], ...options });
  t.after(() => upstream.close());
  return upstream;
}

interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** Calls the token or revocation endpoint the way a confidential client does (RFC 6749 §2.3.1). */
async function postForm(
  upstream: TestUpstream,
  url: string,
  params: Record<string, string>,
  auth: 'basic' | 'post' = 'basic',
): Promise<TokenResponse> {
  const form = new URLSearchParams(params);
  const headers: Record<string, string> = {};
  if (auth === 'basic') {
    const credentials = `${encodeURIComponent(upstream.clientId)}:${encodeURIComponent(upstream.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  } else {
    form.set('client_id', upstream.clientId);
    form.set('client_secret', upstream.clientSecret);
  }
  const res = await fetch(url, { method: 'POST', headers, body: form });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: res.headers };
}

function authorizationRequest(upstream: TestUpstream, scope: string, withPkce = true) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const url = new URL(upstream.authorizationUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: upstream.clientId,
    redirect_uri: CALLBACK,
    scope,
    state,
  }).toString();
  if (withPkce) {
    url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  return { url: url.href, verifier, state };
}

/** Logs `login` in through the dev pages and redeems the code: what the proxy's connect flow does. */
async function connect(upstream: TestUpstream, login: string, auth: 'basic' | 'post' = 'basic') {
  const request = authorizationRequest(upstream, 'openid offline_access read');
  const callback = await authorizeUntilRedirect(request.url, login);
  assert.equal(`${callback.origin}${callback.pathname}`, CALLBACK);
  assert.equal(callback.searchParams.get('state'), request.state);
  const code = callback.searchParams.get('code');
  assert.ok(code, `no code in ${callback.href}`);
  const res = await postForm(
    upstream,
    upstream.tokenUrl,
    { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: request.verifier },
    auth,
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { access_token: string; refresh_token: string; id_token: string; scope: string; expires_in: number };
}

function refresh(upstream: TestUpstream, refreshToken: string) {
  return postForm(upstream, upstream.tokenUrl, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

function callApi(upstream: TestUpstream, path: string, accessToken?: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (accessToken !== undefined) headers.set('authorization', `Bearer ${accessToken}`);
  return fetch(`${upstream.apiBaseUrl}${path}`, { ...init, headers });
}

function jwtPayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1];
  assert.ok(part, 'not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('test upstream: authorization code flow', () => {
  test('issues access, refresh and id tokens for the typed login (client_secret_basic)', async (t) => {
    const upstream = await upstreamFor(t);
    const tokens = await connect(upstream, 'alice');

    assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
    assert.equal(jwtPayload(tokens.id_token).sub, 'alice');
    assert.equal(tokens.expires_in, 3600);
    assert.deepEqual(upstream.tokenCalls, { authorization_code: 1, refresh_token: 0 });

    const me = await callApi(upstream, '/me', tokens.access_token);
    assert.equal(me.status, 200);
    assert.deepEqual(await me.json(), { id: 'alice', login: 'alice' });

    const anonymous = await callApi(upstream, '/me');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.deepEqual(await anonymous.json(), { error: 'invalid_token' });
  });

  test('client_secret_post clients authenticate in the form body, and only there', async (t) => {
    const upstream = await upstreamFor(t, { tokenAuth: 'client_secret_post' });
    const tokens = await connect(upstream, 'bob', 'post');
    assert.equal(jwtPayload(tokens.id_token).sub, 'bob');

    const basic = await refresh(upstream, tokens.refresh_token);
    assert.equal(basic.status, 401);
    assert.equal(basic.body.error, 'invalid_client');
    const params = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token };
    assert.equal((await postForm(upstream, upstream.tokenUrl, params, 'post')).status, 200);
  });

  test('client_secret_basic clients may not send their secret in the form body', async (t) => {
    const upstream = await upstreamFor(t);
    const tokens = await connect(upstream, 'bob');
    const params = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token };
    const inBody = await postForm(upstream, upstream.tokenUrl, params, 'post');
    assert.equal(inBody.status, 401);
    assert.equal(inBody.body.error, 'invalid_client');
    assert.equal(upstream.tokenCalls.refresh_token, 1);
    assert.equal((await refresh(upstream, tokens.refresh_token)).status, 200);
  });

  test('an authorization request without PKCE is refused', async (t) => {
    const upstream = await upstreamFor(t);
    const request = authorizationRequest(upstream, 'openid read', false);
    const callback = await authorizeUntilRedirect(request.url, 'alice');
    assert.equal(callback.searchParams.get('error'), 'invalid_request');
    assert.equal(callback.searchParams.get('code'), null);
  });

  test('a code can be redeemed only once', async (t) => {
    const upstream = await upstreamFor(t);
    const request = authorizationRequest(upstream, 'openid read');
    const code = (await authorizeUntilRedirect(request.url, 'alice')).searchParams.get('code') ?? '';
    const params = { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: request.verifier };
    assert.equal((await postForm(upstream, upstream.tokenUrl, params)).status, 200);
    const again = await postForm(upstream, upstream.tokenUrl, params);
    assert.equal(again.body.error, 'invalid_grant');
    assert.equal(upstream.tokenCalls.authorization_code, 2);
  });

  test('authorizeInBrowser ends with a cookie-less GET of the redirect_uri', async (t) => {
    const seen: Array<{ url: string; cookie: string | undefined }> = [];
    const client = createServer((req, res) => {
      seen.push({ url: req.url ?? '', cookie: req.headers.cookie });
      res.writeHead(200, { 'content-type': 'text/plain', 'x-callback': 'yes' }).end('connected');
    });
    await new Promise<void>((resolve) => client.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => client.close(() => resolve())));
    const redirectUri = `http://127.0.0.1:${(client.address() as AddressInfo).port}/cb`;

    const upstream = await upstreamFor(t, { redirectUris: [redirectUri] });
    const url = new URL(authorizationRequest(upstream, 'openid read').url);
    url.searchParams.set('redirect_uri', redirectUri);
    const res = await authorizeInBrowser(url.href, 'carol');

    assert.equal(res.status, 200);
    assert.equal(res.body, 'connected');
    assert.equal(res.headers.get('x-callback'), 'yes');
    assert.equal(seen.length, 1);
    assert.match(seen[0]?.url ?? '', /^\/cb\?code=[^&]+&state=/);
    assert.equal(seen[0]?.cookie, undefined);
    assert.equal(new URL(res.url).searchParams.get('code') !== null, true);
  });
});

describe('test upstream: refresh tokens', () => {
  test('each refresh rotates the refresh token; replaying a rotated one revokes the whole grant', async (t) => {
    const upstream = await upstreamFor(t);
    const first = await connect(upstream, 'alice');

    const refreshed = await refresh(upstream, first.refresh_token);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(upstream.tokenCalls.refresh_token, 1);
    const second = refreshed.body as { access_token: string; refresh_token: string; id_token: string };
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.notEqual(second.access_token, first.access_token);
    assert.equal(jwtPayload(second.id_token).sub, 'alice');
    assert.equal((await callApi(upstream, '/me', second.access_token)).status, 200);

    const replay = await refresh(upstream, first.refresh_token);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    // Reuse detection: the newer refresh token and its access token die with the grant.
    assert.equal((await refresh(upstream, second.refresh_token)).body.error, 'invalid_grant');
    assert.equal((await callApi(upstream, '/me', second.access_token)).status, 401);
  });

  test('a down token endpoint answers 503 without consuming the refresh token', async (t) => {
    const upstream = await upstreamFor(t);
    const tokens = await connect(upstream, 'alice');

    upstream.setTokenEndpointDown(true);
    const down = await refresh(upstream, tokens.refresh_token);
    assert.equal(down.status, 503);
    assert.equal(down.body.error, 'temporarily_unavailable');
    assert.equal(upstream.tokenCalls.refresh_token, 1);

    upstream.setTokenEndpointDown(false);
    const up = await refresh(upstream, tokens.refresh_token);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(upstream.tokenCalls.refresh_token, 2);
  });

  test('a hanging token endpoint never answers and consumes nothing; it recovers when released', async (t) => {
    const upstream = await upstreamFor(t);
    const tokens = await connect(upstream, 'alice');

    upstream.setTokenEndpointHanging(true);
    await assert.rejects(
      fetch(upstream.tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
        signal: AbortSignal.timeout(200),
      }),
      { name: 'TimeoutError' },
    );
    assert.equal(upstream.tokenCalls.refresh_token, 1);

    upstream.setTokenEndpointHanging(false);
    const up = await refresh(upstream, tokens.refresh_token);
    assert.equal(up.status, 200, JSON.stringify(up.body));
  });

  for (const mode of ['omitted', 'null'] as const) {
    test(`expiresIn: '${mode}' leaves the lifetime out of token responses, yet tokens still expire`, async (t) => {
      const upstream = await upstreamFor(t, { expiresIn: mode, accessTokenTtl: 2 });
      const tokens = await connect(upstream, 'alice');
      assert.equal(tokens.expires_in, mode === 'null' ? null : undefined);
      assert.ok('expires_in' in tokens === (mode === 'null'));
      const refreshed = await refresh(upstream, tokens.refresh_token);
      assert.equal(refreshed.status, 200);
      assert.equal(refreshed.body.expires_in, mode === 'null' ? null : undefined);
      const token = refreshed.body.access_token as string;
      assert.equal((await callApi(upstream, '/me', token)).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      assert.equal((await callApi(upstream, '/me', token)).status, 401);
    });
  }

  test('revokeAccessTokensFor kills that account’s access tokens only; its refresh token still works', async (t) => {
    const upstream = await upstreamFor(t);
    const alice = await connect(upstream, 'alice');
    const bob = await connect(upstream, 'bob');

    upstream.revokeAccessTokensFor('alice');

    assert.equal((await callApi(upstream, '/me', alice.access_token)).status, 401);
    assert.equal((await callApi(upstream, '/me', bob.access_token)).status, 200);
    const refreshed = await refresh(upstream, alice.refresh_token);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal((await callApi(upstream, '/me', refreshed.body.access_token as string)).status, 200);
  });

  test('setAccessTokenTtl changes the lifetime of tokens issued afterwards', async (t) => {
    const upstream = await upstreamFor(t, { accessTokenTtl: 2 });
    const tokens = await connect(upstream, 'alice');
    assert.equal(tokens.expires_in, 2);
    upstream.setAccessTokenTtl(3600);
    const refreshed = await refresh(upstream, tokens.refresh_token);
    assert.equal(refreshed.body.expires_in, 3600);
  });

  test('revokeGrantsFor kills that account’s refresh and access tokens, and nobody else’s', async (t) => {
    const upstream = await upstreamFor(t);
    const alice = await connect(upstream, 'alice');
    const bob = await connect(upstream, 'bob');

    await upstream.revokeGrantsFor('alice');

    const refused = await refresh(upstream, alice.refresh_token);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_grant');
    assert.equal((await callApi(upstream, '/me', alice.access_token)).status, 401);
    assert.equal((await callApi(upstream, '/me', bob.access_token)).status, 200);
    assert.equal((await refresh(upstream, bob.refresh_token)).status, 200);
  });

  test('the revocation endpoint counts revocations and revoking a refresh token ends the grant', async (t) => {
    const upstream = await upstreamFor(t);
    const tokens = await connect(upstream, 'alice');
    const revoked = await postForm(upstream, upstream.revocationUrl, {
      token: tokens.refresh_token,
      token_type_hint: 'refresh_token',
    });
    assert.equal(revoked.status, 200);
    assert.equal(upstream.revocations, 1);
    assert.equal((await refresh(upstream, tokens.refresh_token)).body.error, 'invalid_grant');
    assert.equal((await callApi(upstream, '/me', tokens.access_token)).status, 401);
  });

  test('access tokens stop working once their TTL passes', async (t) => {
    // oidc-provider counts whole seconds (exp = floor(iat) + ttl): a TTL of n lives n-1 to n seconds.
    const upstream = await upstreamFor(t, { accessTokenTtl: 2 });
    const tokens = await connect(upstream, 'alice');
    assert.equal(tokens.expires_in, 2);
    assert.equal((await callApi(upstream, '/me', tokens.access_token)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    assert.equal((await callApi(upstream, '/me', tokens.access_token)).status, 401);
  });
});

describe('test upstream: REST API', () => {
  test('routes answer for the token owner and every request is recorded', async (t) => {
    const upstream = await upstreamFor(t);
    const { access_token: token } = await connect(upstream, 'dave');

    const item = await callApi(upstream, '/items/a%2Fb%20c?q=hello%20world', token);
    assert.deepEqual(await item.json(), { id: 'a/b c', q: 'hello world', owner: 'dave' });
    assert.deepEqual(await (await callApi(upstream, '/items/7', token)).json(), { id: '7', q: null, owner: 'dave' });

    const echo = await callApi(upstream, '/echo', token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: ['world'] }),
    });
    assert.deepEqual(await echo.json(), { owner: 'dave', body: { hello: ['world'] } });

    const limited = await callApi(upstream, '/status/429', token);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '7');
    assert.deepEqual(await limited.json(), { status: 429, owner: 'dave' });
    assert.equal((await callApi(upstream, '/status/502', token)).status, 502);

    const large = await (await callApi(upstream, '/large', token)).text();
    assert.ok(large.length >= 1024 * 1024);

    const slow = await callApi(upstream, '/slow?ms=50', token);
    assert.deepEqual(await slow.json(), { waitedMs: 50, owner: 'dave' });
    assert.equal((await callApi(upstream, '/nope', token)).status, 404);

    const paths = upstream.apiRequests.map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(paths.slice(0, 3), ['GET /api/items/a%2Fb%20c?q=hello%20world', 'GET /api/items/7', 'POST /api/echo']);
    assert.deepEqual(upstream.apiRequests[2]?.body, { hello: ['world'] });
    assert.equal(upstream.apiRequests[0]?.authorization, `Bearer ${token}`);
  });

  test('a client timing out on /api/slow does not hold up close()', async (t) => {
    const upstream = await upstreamFor(t);
    const { access_token: token } = await connect(upstream, 'erin');
    await assert.rejects(callApi(upstream, '/slow?ms=30000', token, { signal: AbortSignal.timeout(100) }));
    const pending = callApi(upstream, '/slow?ms=30000', token).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await upstream.close();
    assert.ok(Date.now() - started < 1_000);
    assert.equal(await pending, 'aborted');
  });
});
