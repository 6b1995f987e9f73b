import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseClientMetadata, registerClient } from '../../src/oauth-server/client-registration.js';
import { sha256 } from '../../src/crypto/secrets.js';
import { bearer, register, startAppWithUpstream } from '../support/app.js';
import { connectMcp } from '../support/mcp-client.js';
import { mcpStatus, obtainCode, postForm, redeem, REDIRECT_URI, registerPublicClient, tokenRequest } from './support.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

describe('the token endpoint, access tokens at /mcp, refresh rotation and revocation', () => {
  let f: Fixture;
  let clientId: string;
  before(async () => {
    f = await startAppWithUpstream();
    clientId = await registerPublicClient(f.app.url);
  });
  after(() => f.close());

  const exchange = (code: { code: string; verifier: string }, overrides: Record<string, string | undefined> = {}) => {
    const form: Record<string, string | undefined> = {
      grant_type: 'authorization_code',
      client_id: clientId,
      code: code.code,
      code_verifier: code.verifier,
      redirect_uri: REDIRECT_URI,
      resource: `${f.app.url}/mcp`,
      ...overrides,
    };
    return tokenRequest(f.app.url, Object.fromEntries(Object.entries(form).filter(([, v]) => v !== undefined)) as Record<string, string>);
  };
  const refresh = (refreshToken: string, extra: Record<string, string> = {}) =>
    tokenRequest(f.app.url, { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken, ...extra });

  it('a token works at /mcp; tokens are stored only as hashes and never work on the key-only API', async () => {
    const tokens = await redeem(f.app.url, clientId, await obtainCode(f.app.url, clientId, 'tina'));
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.expires_in, 3600 as unknown as string);
    assert.equal(await mcpStatus(f.app.url, tokens.access_token as string), 200);
    const stored = await f.app.pool.query('SELECT token_hash FROM oauth_access_tokens UNION ALL SELECT token_hash FROM oauth_refresh_tokens');
    const dump = JSON.stringify(stored.rows);
    assert.ok(!dump.includes(tokens.access_token as string) && !dump.includes(tokens.refresh_token as string));
    assert.ok(stored.rows.some((r) => (r.token_hash as Buffer).equals(sha256(tokens.access_token as string))));
    const api = await fetch(`${f.app.url}/api/connect/acme/status`, { headers: bearer(tokens.access_token as string) });
    assert.equal(api.status, 401, 'access tokens are bound to /mcp, not to the key API');
  });

  it('PKCE: a missing verifier is invalid_request; a wrong one is invalid_grant and spends the code', async () => {
    const code = await obtainCode(f.app.url, clientId, 'pkce');
    const missing = await exchange(code, { code_verifier: undefined });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_request');
    assert.equal(missing.headers.get('cache-control'), 'no-store');
    const wrong = await exchange(code, { code_verifier: 'a'.repeat(43) });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
    const right = await exchange(code);
    assert.equal(right.body.error, 'invalid_grant', 'the code was spent by the failed attempt');
  });

  it('a wrong redirect URI, another client or another resource is refused', async () => {
    const other = await registerPublicClient(f.app.url);
    const cases: Array<[Record<string, string>, string]> = [
      [{ redirect_uri: 'http://127.0.0.1:9/other' }, 'invalid_grant'],
      [{ client_id: other }, 'invalid_grant'],
      [{ resource: 'https://other.example/mcp' }, 'invalid_target'],
    ];
    for (const [overrides, error] of cases) {
      const res = await exchange(await obtainCode(f.app.url, clientId, 'mixed'), overrides);
      assert.equal(res.status, 400, JSON.stringify(overrides));
      assert.equal(res.body.error, error, JSON.stringify(overrides));
    }
  });

  it('a replayed code is refused and revokes the tokens issued from it (RFC 6749 §4.1.2)', async () => {
    const code = await obtainCode(f.app.url, clientId, 'replay');
    const first = await exchange(code);
    assert.equal(first.status, 200);
    assert.equal(await mcpStatus(f.app.url, first.body.access_token as string), 200);
    const replay = await exchange(code);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.equal(await mcpStatus(f.app.url, first.body.access_token as string), 401);
    assert.equal((await refresh(first.body.refresh_token as string)).body.error, 'invalid_grant');
  });

  it('an expired access token and one bound to another resource are 401 at /mcp', async () => {
    const expired = await redeem(f.app.url, clientId, await obtainCode(f.app.url, clientId, 'late'));
    await f.app.pool.query("UPDATE oauth_access_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1", [sha256(expired.access_token as string)]);
    assert.equal(await mcpStatus(f.app.url, expired.access_token as string), 401);

    // E.g. issued before PUBLIC_URL changed: the audience no longer names this server's /mcp.
    const moved = await redeem(f.app.url, clientId, await obtainCode(f.app.url, clientId, 'moved'));
    await f.app.pool.query("UPDATE oauth_access_tokens SET resource = 'https://old.example/mcp' WHERE token_hash = $1", [sha256(moved.access_token as string)]);
    assert.equal(await mcpStatus(f.app.url, moved.access_token as string), 401);
  });

  it('revocation: an access token stops working; a refresh token ends its whole family', async () => {
    const a = await redeem(f.app.url, clientId, await obtainCode(f.app.url, clientId, 'rev'));
    const revokeAccess = await postForm(`${f.app.url}/oauth/revoke`, { client_id: clientId, token: a.access_token as string });
    assert.equal(revokeAccess.status, 200);
    assert.equal(await mcpStatus(f.app.url, a.access_token as string), 401);
    const renewed = await refresh(a.refresh_token as string);
    assert.equal(renewed.status, 200, 'revoking an access token leaves its refresh token');

    const revokeRefresh = await postForm(`${f.app.url}/oauth/revoke`, { client_id: clientId, token: renewed.body.refresh_token as string, token_type_hint: 'refresh_token' });
    assert.equal(revokeRefresh.status, 200);
    assert.equal(await mcpStatus(f.app.url, renewed.body.access_token as string), 401);
    assert.equal((await refresh(renewed.body.refresh_token as string)).body.error, 'invalid_grant');

    // Unknown tokens and other clients' tokens: 200, nothing happens.
    const b = await redeem(f.app.url, clientId, await obtainCode(f.app.url, clientId, 'rev2'));
    const other = await registerPublicClient(f.app.url);
    assert.equal((await postForm(`${f.app.url}/oauth/revoke`, { client_id: other, token: b.access_token as string })).status, 200);
    assert.equal((await postForm(`${f.app.url}/oauth/revoke`, { client_id: clientId, token: 'mcp_at_unknown' })).status, 200);
    assert.equal(await mcpStatus(f.app.url, b.access_token as string), 200);
  });

  it('refresh rotates; a parallel reuse within the grace works; reuse after the successor was used revokes the family', async () => {
    const t0 = await redeem(f.app.url, clientId, await obtainCode(f.app.url, clientId, 'rotor'));
    const r1 = await refresh(t0.refresh_token as string);
    assert.equal(r1.status, 200);
    assert.notEqual(r1.body.refresh_token, t0.refresh_token, 'a new refresh token every time');
    // A second, parallel client instance still holding the old token is not locked out during the grace.
    const parallel = await refresh(t0.refresh_token as string);
    assert.equal(parallel.status, 200);

    // The client settles on r1: using it ends the old token's grace and drops the parallel alternative.
    const r2 = await refresh(r1.body.refresh_token as string);
    assert.equal(r2.status, 200);
    assert.equal((await refresh(parallel.body.refresh_token as string)).body.error, 'invalid_grant');

    // Replaying the first token now is theft: the whole family dies, including the newest tokens.
    const reuse = await refresh(t0.refresh_token as string);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');
    assert.equal(await mcpStatus(f.app.url, r2.body.access_token as string), 401);
    assert.equal((await refresh(r2.body.refresh_token as string)).body.error, 'invalid_grant');
  });

  it('reuse after the grace period revokes the family even if the successor was never used', async () => {
    const t0 = await redeem(f.app.url, clientId, await obtainCode(f.app.url, clientId, 'slow'));
    const r1 = await refresh(t0.refresh_token as string);
    await f.app.pool.query("UPDATE oauth_refresh_tokens SET used_at = now() - interval '61 seconds' WHERE token_hash = $1", [sha256(t0.refresh_token as string)]);
    assert.equal((await refresh(t0.refresh_token as string)).body.error, 'invalid_grant');
    assert.equal((await refresh(r1.body.refresh_token as string)).body.error, 'invalid_grant');
    assert.equal(await mcpStatus(f.app.url, r1.body.access_token as string), 401);
  });

  it('a refresh may narrow the scope, never widen it or change the resource', async () => {
    const code = await obtainCode(f.app.url, clientId, 'narrow', { scope: 'tools:read' });
    const t0 = await redeem(f.app.url, clientId, code);
    assert.equal(t0.scope, 'tools:read');
    const wider = await refresh(t0.refresh_token as string, { scope: 'tools:read tools:write' });
    assert.equal(wider.body.error, 'invalid_scope');
    const other = await refresh(t0.refresh_token as string, { resource: 'https://other.example/mcp' });
    assert.equal(other.body.error, 'invalid_target');

    const full = await redeem(f.app.url, clientId, await obtainCode(f.app.url, clientId, 'narrow2'));
    const narrowed = await refresh(full.refresh_token as string, { scope: 'tools:read', resource: `${f.app.url}/mcp` });
    assert.equal(narrowed.status, 200);
    assert.equal(narrowed.body.scope, 'tools:read');
    // A read-only token sees only the GET tools.
    const res = await fetch(`${f.app.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${narrowed.body.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    const names = ((await res.json()) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['get_item', 'large', 'status', 'whoami']);
  });

  it('client authentication: confidential clients need their secret; errors are RFC 6749 §5.2 JSON', async () => {
    const { client, clientSecret } = await registerClient(f.app.pool, parseClientMetadata({ redirect_uris: [REDIRECT_URI] }), 'operator');
    const code = await obtainCode(f.app.url, client.clientId, 'conf');
    const base = { grant_type: 'authorization_code', code: code.code, code_verifier: code.verifier, redirect_uri: REDIRECT_URI };
    const noSecret = await tokenRequest(f.app.url, { ...base, client_id: client.clientId });
    assert.equal(noSecret.status, 401);
    assert.equal(noSecret.body.error, 'invalid_client');
    assert.match(noSecret.headers.get('www-authenticate') ?? '', /^Basic /);
    const basic = `Basic ${Buffer.from(`${client.clientId}:wrong`).toString('base64')}`;
    assert.equal((await tokenRequest(f.app.url, base, { authorization: basic })).body.error, 'invalid_client');
    const good = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`;
    const ok = await tokenRequest(f.app.url, base, { authorization: good });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));

    const unsupported = await tokenRequest(f.app.url, { grant_type: 'password', client_id: clientId });
    assert.equal(unsupported.body.error, 'unsupported_grant_type');
    assert.deepEqual(Object.keys(unsupported.body).sort(), ['error', 'error_description']);
    const unknown = await tokenRequest(f.app.url, { grant_type: 'authorization_code', client_id: 'mcp_client_nope', code: 'x' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error, 'invalid_client');
    const json = await fetch(`${f.app.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 400);
    assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
  });

  it('sk_ keys keep working at /mcp next to OAuth tokens', async () => {
    const { apiKey } = await register(f.app, 'keyed');
    const client = await connectMcp(f.app.url, apiKey);
    const { tools } = await client.listTools();
    await client.close();
    assert.ok(tools.length > 0);
  });
});
