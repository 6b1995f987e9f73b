import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { authorizeUntilRedirect } from '../support/browser.js';
import { importJWK, SignJWT, type JWK } from 'jose';
import { startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startIdp, type TestIdp } from '../support/idp.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

describe('resource-server mode: /mcp and /api accept the IdP’s access tokens', () => {
  let db: TestDatabase;
  let idp: TestIdp;
  let hitl: KeyUpstream;
  let app: TestApp;
  let resource = '';
  const clients: Client[] = [];

  before(async () => {
    db = await createTestDatabase();
    idp = await startIdp();
    hitl = await startKeyUpstream({ accounts: { 'key-alice': 'alice-account', 'key-bob': 'bob-account' }, style: { header: 'Authorization', template: 'Bearer {key}' } });
    app = await startApp({
      databaseUrl: db.url,
      providers: [keyProvider(hitl)],
      // With a client configured, opaque tokens are checked by introspection (the IdP publishes its endpoint).
      idpEnv: { IDP_ISSUER: idp.issuer, IDP_CLIENT_ID: idp.loginClient.id, IDP_CLIENT_SECRET: idp.loginClient.secret, IDP_NAME: 'Acme SSO' },
    });
    resource = `${app.url}/mcp`;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app.close();
    await Promise.all([idp.close(), hitl.close()]);
    await db.drop();
  });

  const whoami = async (token: string): Promise<string> => {
    const client = await connectMcp(app.url, token);
    clients.push(client);
    const result = await client.callTool({ name: 'hitl_whoami', arguments: {} });
    assert.equal(result.isError, undefined, textOf(result));
    return (JSON.parse(textOf(result)) as { account: string }).account;
  };
  const setKey = async (token: string, key: string): Promise<void> => {
    const res = await fetch(`${app.url}/api/connect/hitl/key`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ api_key: key }) });
    assert.equal(res.status, 200, await res.text());
  };
  const postMcp = (token: string) =>
    fetch(`${app.url}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(INITIALIZE) });
  /** A token with the IdP's real signing key and whatever claims the test wants. */
  const signed = async (claims: Record<string, unknown>, key: JWK & { kid: string } = idp.signingKey()) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: 'mallory', scope: 'tools:read tools:write', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt' })
      .setIssuer(typeof claims.iss === 'string' ? claims.iss : idp.issuer)
      .setAudience(typeof claims.aud === 'string' ? claims.aud : resource)
      .setIssuedAt(now - 10)
      .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : now + 300)
      .sign(await importJWK(key, 'RS256'));
  };

  it('the protected-resource metadata names the IdP first, and a 401 points at it', async () => {
    const prm = (await (await fetch(`${app.url}/.well-known/oauth-protected-resource/mcp`)).json()) as { authorization_servers: string[]; resource: string };
    assert.equal(prm.resource, resource);
    assert.deepEqual(prm.authorization_servers, [idp.issuer, app.url]);
    const res = await fetch(`${app.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(INITIALIZE) });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/);
  });

  it('two IdP users at once: each is their own user, with their own key upstream, keys and usage', async () => {
    const [alice, bob] = await Promise.all([idp.accessToken('alice', resource), idp.accessToken('bob', resource)]);
    assert.equal(alice.split('.').length, 3, 'a JWT access token');
    await Promise.all([setKey(alice, 'key-alice'), setKey(bob, 'key-bob')]);
    assert.deepEqual(await Promise.all([whoami(alice), whoami(bob)]), ['alice-account', 'bob-account']);

    const { rows } = await app.pool.query<{ subject: string; user_id: string; email: string; name: string }>(
      'SELECT i.subject, i.user_id, i.email, u.name FROM user_identities i JOIN users u ON u.id = i.user_id ORDER BY subject',
    );
    assert.deepEqual(rows.map((r) => [r.subject, r.email, r.name]), [['alice', 'alice@example.test', 'alice Example'], ['bob', 'bob@example.test', 'bob Example']]);
    assert.notEqual(rows[0]?.user_id, rows[1]?.user_id);

    // A second token of the same person is the same user.
    const again = await idp.accessToken('alice', resource);
    assert.equal(await whoami(again), 'alice-account');
    assert.equal((await app.pool.query("SELECT 1 FROM user_identities WHERE subject = 'alice'")).rowCount, 1);

    // The token's `keys` scope manages keys like a key would; the new key acts as the same user.
    const created = await fetch(`${app.url}/api/keys`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'laptop' }) });
    assert.equal(created.status, 201, await created.clone().text());
    const { api_key } = (await created.json()) as { api_key: string };
    assert.equal(await whoami(api_key), 'alice-account');
    const usage = await fetch(`${app.url}/api/usage`, { headers: { authorization: `Bearer ${bob}` } });
    assert.equal(usage.status, 200);
  });

  it('the MCP SDK client’s own auth() signs in at the IdP the metadata names, and calls a tool', async () => {
    const provider = new IdpLoginProvider('hana');
    const mcpUrl = new URL(resource);
    const first = new Client({ name: 'sdk-auth', version: '1.0.0' });
    await assert.rejects(first.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })), /Unauthorized/);
    const authorization = provider.authorizationUrl as URL;
    assert.equal(authorization.origin, idp.issuer, 'the browser went to the IdP, not to this server');
    assert.equal(authorization.searchParams.get('resource'), resource);
    assert.ok(provider.code);
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    await transport.finishAuth(provider.code);
    const client = new Client({ name: 'sdk-auth', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
    clients.push(client);
    const before = await client.callTool({ name: 'hitl_whoami', arguments: {} });
    assert.equal(before.isError, true, 'hana has set no key yet, and the tool says how');
    // The SDK's token is the IdP's JWT with the scopes it asked for (the tool scopes): not enough to set a key.
    const token = provider.tokens()?.access_token ?? '';
    assert.equal(token.split('.').length, 3, "the IdP's JWT, not one of this server's tokens");
    const refused = await fetch(`${app.url}/api/connect/hitl/key`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ api_key: 'key-bob' }) });
    assert.equal(refused.status, 403);
    // With a token that has `connections`, hana sets her key; the SDK client's calls then use it.
    await setKey(await idp.accessToken('hana', resource), 'key-bob');
    const after = await client.callTool({ name: 'hitl_whoami', arguments: {} });
    assert.match(textOf(after), /bob-account/);
    assert.equal((await app.pool.query("SELECT 1 FROM user_identities WHERE subject = 'hana'")).rowCount, 1);
  });

  it('a token without a recognised scope may use tools and connections but not manage keys', async () => {
    const token = await idp.accessToken('carol', resource, 'openid');
    await setKey(token, 'key-alice');
    assert.equal(await whoami(token), 'alice-account');
    const keys = await fetch(`${app.url}/api/keys`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(keys.status, 403);
  });

  it('a key rotation at the IdP (new kid) is picked up without a restart', async () => {
    const before = idp.jwksFetches;
    await idp.rotateKey();
    const token = await idp.accessToken('dave', resource);
    await setKey(token, 'key-bob');
    assert.equal(await whoami(token), 'bob-account');
    assert.equal(idp.jwksFetches - before, 1, 'the JWKS was read again once, for the new kid');
  });

  it('refuses forged and misdirected tokens with 401 and WWW-Authenticate', async () => {
    const now = Math.floor(Date.now() / 1000);
    const pub = idp.signingKey();
    const publicPem = createPublicKey({ key: pub as unknown as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = { iss: idp.issuer, sub: 'mallory', aud: resource, exp: now + 300, iat: now, scope: 'tools:write' };
    const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: pub.kid })}.${b64(claims)}`;
    const stranger = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'unknown-kid', alg: 'RS256' } as JWK & { kid: string };
    const fetchesBefore = idp.jwksFetches;

    const cases: Record<string, string> = {
      'another resource': await idp.accessToken('erin', 'https://other.example/mcp'),
      expired: await signed({ exp: now - 120 }),
      'not yet valid': await signed({ nbf: now + 600 }),
      'wrong issuer': await signed({ iss: 'https://evil.example' }),
      'wrong audience': await signed({ aud: 'https://other.example/mcp' }),
      'alg none': `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`,
      'HS256 signed with the public key': `${hsInput}.${createHmac('sha256', publicPem).update(hsInput).digest('base64url')}`,
      'unknown kid': await signed({}, stranger),
      'another unknown kid': await signed({}, { ...stranger, kid: 'unknown-kid-2' }),
      'tampered payload': (await signed({})).replace(/\.[^.]+\./, `.${b64({ ...claims, sub: 'admin' })}.`),
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await postMcp(token);
      assert.equal(res.status, 401, `${name}: ${await res.text()}`);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/, name);
      const api = await fetch(`${app.url}/api/usage`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(api.status, 401, `${name} on /api`);
    }
    assert.ok(idp.jwksFetches - fetchesBefore <= 1, `unknown kids fetch the JWKS at most once per cooldown (saw ${idp.jwksFetches - fetchesBefore})`);
    assert.equal((await app.pool.query("SELECT 1 FROM user_identities WHERE subject IN ('mallory', 'admin', 'erin')")).rowCount, 0, 'no user was created');
  });

  it('opaque tokens are checked by introspection; an IdP outage keeps verified tokens and known keys working', async () => {
    idp.setAccessTokenFormat('opaque');
    const opaque = await idp.accessToken('frank', resource);
    idp.setAccessTokenFormat('jwt');
    assert.equal(opaque.split('.').length, 1, 'an opaque token');
    await setKey(opaque, 'key-alice');
    assert.equal(await whoami(opaque), 'alice-account');
    const otherResource = await (async () => {
      idp.setAccessTokenFormat('opaque');
      try {
        return await idp.accessToken('frank', 'https://other.example/mcp');
      } finally {
        idp.setAccessTokenFormat('jwt');
      }
    })();
    assert.equal((await postMcp(otherResource)).status, 401, 'introspected, active, but for another resource');

    const jwt = await idp.accessToken('frank', resource);
    const coldOpaque = await (async () => {
      idp.setAccessTokenFormat('opaque');
      try {
        return await idp.accessToken('gina', resource);
      } finally {
        idp.setAccessTokenFormat('jwt');
      }
    })();
    idp.setDown(true);
    try {
      assert.equal(await whoami(opaque), 'alice-account', 'a verified token stays verified');
      assert.equal(await whoami(jwt), 'alice-account', 'a new JWT signed with a known key needs no IdP');
      const res = await postMcp(coldOpaque);
      assert.equal(res.status, 503, 'an opaque token the IdP cannot check now: try again, not sign in again');
      assert.ok(res.headers.get('retry-after'));
    } finally {
      idp.setDown(false);
    }
  });
});

/** The SDK's client side, in memory: registers at the IdP (DCR), and "redirects" by logging in at its dev login page. */
class IdpLoginProvider implements OAuthClientProvider {
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = '';
  authorizationUrl: URL | undefined;
  code: string | undefined;
  constructor(readonly login: string) {}
  get redirectUrl(): string {
    return 'http://127.0.0.1:9/sdk-callback';
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'SDK client', redirect_uris: [this.redirectUrl], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.#client = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrl = url;
    const back = await authorizeUntilRedirect(url.href, this.login);
    this.code = back.searchParams.get('code') ?? undefined;
  }
}
