import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectionAad } from '../../src/connections/connect-flow.js';
import { createCipher } from '../../src/crypto/cipher.js';
import { bearer, registerAndConnect, register, startApp, tokenExpiry, upstreamProvider, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { sleepUntil } from '../support/time.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { mcpStatus, obtainCode, redeem, registerPublicClient, tokenRequest } from '../oauth/support.js';

const UPSTREAM_API_KEY = 'hk_live_5ecre7a1c2e8b7d6a5f3e2d1';

/** Every response body the test process received from the app, with what asked for it. */
interface Seen {
  method: string;
  path: string;
  body: string;
}

/** Responses that hand a secret to its owner by design (the key once, this server's own tokens). */
const HANDS_OUT_SECRETS = /^POST \/(api\/users\/register|api\/keys(\/[^/]+\/rotate)?|oauth\/token)$/;

describe('secrets at LOG_LEVEL=trace', () => {
  const encryptionKey = randomBytes(32);
  let db: TestDatabase;
  let app: TestApp;
  let upstream: TestUpstream;
  let keyUpstream: KeyUpstream;
  const seen: Seen[] = [];
  const pending: Array<Promise<void>> = [];
  const realFetch = globalThis.fetch;

  before(async () => {
    db = await createTestDatabase();
    keyUpstream = await startKeyUpstream({ accounts: { [UPSTREAM_API_KEY]: 'ann-acct' }, style: { header: 'Authorization', template: 'Bearer {key}' } });
    app = await startApp({
      databaseUrl: db.url,
      encryptionKey,
      logLevel: 'trace',
      providers: async (url) => {
        upstream = await startUpstream({ redirectUris: [`${url}/api/connect/acme/callback`], accessTokenTtl: 2 });
        return [upstreamProvider(upstream), keyProvider(keyUpstream)];
      },
    });
    // Record every body the app sends this process (the MCP SDK client uses global fetch too).
    globalThis.fetch = async (input, init) => {
      const res = await realFetch(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      // A GET on /mcp is a standing SSE stream that never ends by itself.
      if (url.origin === app.url && !(method === 'GET' && url.pathname === '/mcp')) {
        pending.push(res.clone().text().then((body) => void seen.push({ method, path: url.pathname, body }), () => undefined));
      }
      return res;
    };
  });
  after(async () => {
    globalThis.fetch = realFetch;
    await app.close();
    await upstream.close();
    await keyUpstream.close();
    await db.drop();
  });

  it('no token, key, client secret, upstream API key or encryption key in any log line or response', async () => {
    const secrets: Record<string, string> = {
      clientSecret: upstream.clientSecret,
      upstreamApiKey: UPSTREAM_API_KEY,
      encryptionKeyBase64: encryptionKey.toString('base64'),
      encryptionKeyHex: encryptionKey.toString('hex'),
    };
    const cipher = createCipher(encryptionKey);
    const snapshotTokens = async (userId: string, tag: string): Promise<void> => {
      const { rows } = await app.pool.query('SELECT access_token_enc, refresh_token_enc FROM connections WHERE user_id = $1 AND provider_id = $2', [userId, 'acme']);
      const row = rows[0] as { access_token_enc: string; refresh_token_enc: string | null };
      secrets[`${tag}AccessToken`] = cipher.decrypt(row.access_token_enc, connectionAad(userId, 'acme'));
      if (row.refresh_token_enc) secrets[`${tag}RefreshToken`] = cipher.decrypt(row.refresh_token_enc, connectionAad(userId, 'acme'));
    };

    // Register and connect through the real upstream's login page.
    const ann = await registerAndConnect(app, 'ann');
    secrets.annKey = ann.apiKey;
    await snapshotTokens(ann.userId, 'connected');

    // Tool calls, then a refresh of the expired token (the upstream rotates the refresh token).
    const mcp = await connectMcp(app.url, ann.apiKey);
    assert.equal(JSON.parse(textOf(await mcp.callTool({ name: 'whoami', arguments: {} }))).id, 'ann');
    await sleepUntil((await tokenExpiry(app, ann.apiKey)).getTime() + 50);
    assert.equal(JSON.parse(textOf(await mcp.callTool({ name: 'get_item', arguments: { id: 'x', q: 'y' } }))).owner, 'ann');
    await snapshotTokens(ann.userId, 'refreshed');
    assert.notEqual(secrets.refreshedAccessToken, secrets.connectedAccessToken, 'the token was refreshed');
    assert.ok(upstream.tokenCalls.refresh_token >= 1);

    // An API-key provider: set a key (validated upstream), call with it, and a refused one.
    const put = await fetch(`${app.url}/api/connect/hitl/key`, {
      method: 'PUT',
      headers: { ...bearer(ann.apiKey), 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: UPSTREAM_API_KEY }),
    });
    assert.equal(put.status, 200);
    assert.match(textOf(await mcp.callTool({ name: 'hitl_whoami', arguments: {} })), /ann-acct/);
    await mcp.close();

    // Key rotation: a new key, the old one in its grace period.
    const keys = (await (await fetch(`${app.url}/api/keys`, { headers: bearer(ann.apiKey) })).json()) as { keys: Array<{ id: string }> };
    const rotated = await fetch(`${app.url}/api/keys/${keys.keys[0]!.id}/rotate`, {
      method: 'POST',
      headers: { ...bearer(ann.apiKey), 'content-type': 'application/json' },
      body: JSON.stringify({ grace_seconds: 60 }),
    });
    assert.equal(rotated.status, 201);
    secrets.rotatedKey = ((await rotated.json()) as { api_key: string }).api_key;
    assert.equal((await fetch(`${app.url}/api/connect/acme/status`, { headers: bearer(secrets.rotatedKey) })).status, 200);

    // This server's own OAuth: sign in from a client, redeem, use and refresh the token.
    await register(app, 'bob');
    const clientId = await registerPublicClient(app.url);
    const tokens = await redeem(app.url, clientId, await obtainCode(app.url, clientId, 'ann'));
    assert.equal(await mcpStatus(app.url, tokens.access_token!), 200);
    const renewed = await tokenRequest(app.url, { grant_type: 'refresh_token', client_id: clientId, refresh_token: tokens.refresh_token! });
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    Object.assign(secrets, {
      oauthAccessToken: tokens.access_token,
      oauthRefreshToken: tokens.refresh_token,
      oauthRenewedAccess: renewed.body.access_token,
      oauthRenewedRefresh: renewed.body.refresh_token,
    });

    await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 2_000))]);
    const logs = app.logs.join('');
    assert.ok(logs.includes('"level":10') || logs.includes('"level":20'), 'the app logged at trace/debug');
    assert.ok(app.logs.length > 20, `the flows logged (${app.logs.length} lines)`);
    for (const [name, secret] of Object.entries(secrets)) {
      assert.ok(secret && secret.length >= 16, `${name} was captured`);
      assert.ok(!logs.includes(secret), `${name} appears in a log line`);
      const leaks = seen.filter((s) => !HANDS_OUT_SECRETS.test(`${s.method} ${s.path}`) && s.body.includes(secret));
      assert.deepEqual(leaks.map((s) => `${s.method} ${s.path}`), [], `${name} appears in a response`);
    }
    // Every sk_ in a log line would be a key (prefixes are logged as `sk_xxxx` without the secret part).
    for (const key of [secrets.annKey!, secrets.rotatedKey!]) assert.ok(!logs.includes(key.split('_').slice(2).join('_')), 'the secret part of a key is logged');
    console.log(JSON.stringify({ logLines: app.logs.length, responses: seen.length, secretsChecked: Object.keys(secrets).length }));
  });
});
