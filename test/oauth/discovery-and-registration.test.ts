import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { authorizationUrl, pkcePair, REDIRECT_URI, registerPublicClient } from './support.js';

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

describe('OAuth discovery, 401 challenges and dynamic client registration', () => {
  let db: TestDatabase;
  let app: TestApp;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, providers: [] });
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  it('protected-resource metadata names /mcp exactly, at the root and path-suffixed well-known URIs, with CORS', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await fetch(`${app.url}${path}`, { headers: { origin: 'https://chatgpt.com' } });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const body = await json(res);
      assert.equal(body.resource, `${app.url}/mcp`);
      assert.deepEqual(body.authorization_servers, [app.url]);
      assert.deepEqual(body.scopes_supported, ['tools:read', 'tools:write']);
    }
    const preflight = await fetch(`${app.url}/.well-known/oauth-protected-resource/mcp`, {
      method: 'OPTIONS',
      headers: { origin: 'https://claude.ai', 'access-control-request-method': 'GET', 'access-control-request-headers': 'mcp-protocol-version' },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /MCP-Protocol-Version/i);
  });

  it('authorization-server metadata (RFC 8414) advertises what MCP clients check', async () => {
    {
      const res = await fetch(`${app.url}/.well-known/oauth-authorization-server`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const body = await json(res);
      assert.equal(body.issuer, app.url);
      assert.equal(body.authorization_endpoint, `${app.url}/oauth/authorize`);
      assert.equal(body.token_endpoint, `${app.url}/oauth/token`);
      assert.equal(body.registration_endpoint, `${app.url}/oauth/register`);
      assert.equal(body.revocation_endpoint, `${app.url}/oauth/revoke`);
      assert.deepEqual(body.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(body.response_types_supported, ['code']);
      assert.deepEqual(body.grant_types_supported, ['authorization_code', 'refresh_token']);
      assert.ok((body.token_endpoint_auth_methods_supported as string[]).includes('none'));
      assert.equal(body.client_id_metadata_document_supported, true);
      assert.equal(body.authorization_response_iss_parameter_supported, true);
      assert.deepEqual(body.scopes_supported, ['tools:read', 'tools:write']);
    }
  });

  it('serves no OpenID Connect discovery document: this server issues no id_tokens, so it is no OpenID provider', async () => {
    // OIDC Discovery §3 requires jwks_uri, subject_types_supported and id_token_signing_alg_values_supported,
    // none of which mean anything here. MCP clients try RFC 8414 first and fall back to this only on a 404.
    const res = await fetch(`${app.url}/.well-known/openid-configuration`);
    assert.equal(res.status, 404);
  });

  it('every 401 from /mcp names the resource metadata and the scopes; a bad token adds error="invalid_token"', async () => {
    const metadata = `resource_metadata="${app.url}/.well-known/oauth-protected-resource/mcp"`;
    const anonymous = await fetch(`${app.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(anonymous.status, 401);
    const challenge = anonymous.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer /);
    assert.ok(challenge.includes(metadata), challenge);
    assert.ok(challenge.includes('scope="tools:read tools:write"'), challenge);

    for (const token of ['mcp_at_' + 'x'.repeat(43), 'not-a-token', 'sk_bad']) {
      const res = await fetch(`${app.url}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}' });
      assert.equal(res.status, 401, token);
      const header = res.headers.get('www-authenticate') ?? '';
      assert.ok(header.includes(metadata) && header.includes('error="invalid_token"'), header);
    }
    const get = await fetch(`${app.url}/mcp`);
    assert.equal(get.status, 401);
    assert.ok((get.headers.get('www-authenticate') ?? '').includes(metadata));
  });

  it('registers a public client (no secret) and a confidential one (secret shown once, stored hashed), with CORS', async () => {
    const pub = await fetch(`${app.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://claude.ai' },
      body: JSON.stringify({ client_name: 'Claude', redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], token_endpoint_auth_method: 'none', unknown_field: 1 }),
    });
    assert.equal(pub.status, 201);
    assert.equal(pub.headers.get('access-control-allow-origin'), '*');
    assert.equal(pub.headers.get('cache-control'), 'no-store');
    const pubBody = await json(pub);
    assert.match(String(pubBody.client_id), /^mcp_client_/);
    assert.equal(pubBody.client_secret, undefined);
    assert.equal(pubBody.token_endpoint_auth_method, 'none');
    assert.deepEqual(pubBody.redirect_uris, ['https://claude.ai/api/mcp/auth_callback']);
    assert.deepEqual(pubBody.grant_types, ['authorization_code', 'refresh_token']);
    assert.equal(pubBody.unknown_field, undefined, 'unknown metadata is ignored (RFC 7591 §2)');

    const conf = await fetch(`${app.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'ChatGPT', redirect_uris: ['https://chatgpt.com/connector_platform_oauth_redirect'], token_endpoint_auth_method: 'client_secret_post' }),
    });
    assert.equal(conf.status, 201);
    const confBody = await json(conf);
    assert.match(String(confBody.client_secret), /^mcp_cs_/);
    assert.equal(confBody.client_secret_expires_at, 0);
    const { rows } = await app.pool.query('SELECT * FROM oauth_clients WHERE client_id = $1', [confBody.client_id]);
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows[0]).includes(String(confBody.client_secret)), 'the secret itself is not stored');
  });

  it('refuses unusable redirect URIs and metadata with RFC 7591 errors', async () => {
    const cases: Array<[unknown, string]> = [
      [{ redirect_uris: ['http://evil.example/cb'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['https://ok.example/cb#frag'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: [] }, 'invalid_redirect_uri'],
      [{ client_name: 'no uris' }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['https://ok.example/cb'], token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
      [{ redirect_uris: ['https://ok.example/cb'], grant_types: ['implicit'] }, 'invalid_client_metadata'],
    ];
    for (const [body, error] of cases) {
      const res = await fetch(`${app.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((await json(res)).error, error, JSON.stringify(body));
    }
    // Loopback redirect URIs over http are fine (native apps, RFC 8252 §7.3), and so are private-use schemes.
    await registerPublicClient(app.url, { redirect_uris: ['http://localhost:33418/cb', 'http://[::1]/cb', 'cursor://anysphere.cursor/oauth'] });
  });

  it('a registered client survives a restart: a new app on the same database still knows it', async () => {
    const clientId = await registerPublicClient(app.url);
    const again = await startApp({ databaseUrl: db.url, providers: [] });
    try {
      const res = await fetch(authorizationUrl(again.url, clientId, pkcePair().challenge, { redirect_uri: REDIRECT_URI }), { redirect: 'manual' });
      assert.equal(res.status, 200, 'the consent page, not "unknown application"');
      assert.match(await res.text(), /Manual client/);
    } finally {
      await again.close();
    }
  });
});

describe('npm run oauth-client pre-registers a client', () => {
  it('prints the registration with its secret once and stores only the hash', async () => {
    const { execFile } = await import('node:child_process');
    const db = await createTestDatabase();
    try {
      const output = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'src/cli/oauth-client.ts', '--name', 'Operator app', '--redirect-uri', 'https://app.example/cb'],
          { env: { ...process.env, DATABASE_URL: db.url } },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        );
      });
      const registration = JSON.parse(output) as Record<string, unknown>;
      assert.equal(registration.client_name, 'Operator app');
      assert.equal(registration.token_endpoint_auth_method, 'client_secret_basic');
      assert.match(String(registration.client_secret), /^mcp_cs_/);
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query('SELECT source, client_secret_hash FROM oauth_clients WHERE client_id = $1', [registration.client_id]);
      await client.end();
      assert.equal(rows[0]?.source, 'operator');
      assert.ok(Buffer.isBuffer(rows[0]?.client_secret_hash));
    } finally {
      await db.drop();
    }
  });
});
