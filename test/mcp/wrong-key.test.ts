import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authorizationUrl, pkcePair, registerPublicClient } from '../oauth/support.js';
import { register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * A client configured with a wrong `sk_` key must be told the key is wrong, not only that it
 * needs authorization: mcp-remote (Claude Desktop) starts a browser sign-in on any 401, so the
 * words that matter are the ones a user or a client reading the challenge sees (docs/security.md).
 */
describe('a wrong sk_ key on /mcp says what is wrong, within the contract’s 401', () => {
  let db: TestDatabase;
  let app: TestApp;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url });
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  it('401, WWW-Authenticate with resource_metadata, error="invalid_token" and a description; the JSON body says to replace the key', async () => {
    const { apiKey } = await register(app, 'wrong-key');
    const typo = apiKey.slice(0, -1) + (apiKey.endsWith('a') ? 'b' : 'a');
    for (const key of [typo, 'sk_nope']) {
      const res = await fetch(`${app.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      assert.equal(res.status, 401, key);
      const challenge = res.headers.get('www-authenticate') ?? '';
      assert.ok(challenge.startsWith('Bearer '), challenge);
      assert.ok(challenge.includes(`resource_metadata="${app.url}/.well-known/oauth-protected-resource/mcp"`), challenge);
      assert.ok(challenge.includes('error="invalid_token"'), challenge);
      assert.match(challenge, /error_description="The API key \(sk_\.\.\.\) is invalid, expired or revoked: replace it in the client settings"/);
      const body = (await res.json()) as { error: string; error_description: string };
      assert.equal(body.error, 'unauthorized', 'the contract’s code for a 401');
      assert.match(body.error_description, /API key is invalid, expired or revoked\. Replace it in your client’s settings/);
      assert.ok(!JSON.stringify(body).includes(key) && !challenge.includes(key), 'the key is not echoed');
    }
  });

  it('an invalid OAuth access token keeps its own wording', async () => {
    const res = await fetch(`${app.url}/mcp`, { method: 'POST', headers: { authorization: `Bearer mcp_at_${'x'.repeat(43)}` }, body: '{}' });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token", error_description="The access token is invalid, expired or revoked"/);
  });

  it('the consent page a desktop client opens (loopback redirect) says what a sign-in that opened by itself means', async () => {
    const loopback = await registerPublicClient(app.url);
    const page = await fetch(authorizationUrl(app.url, loopback, pkcePair().challenge));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /open by itself although your client is set up with an API key[\s\S]*replace the key in the client’s settings/);
    const web = await registerPublicClient(app.url, { redirect_uris: ['https://client.example/callback'] });
    const other = await fetch(authorizationUrl(app.url, web, pkcePair().challenge, { redirect_uri: 'https://client.example/callback' }));
    assert.equal(other.status, 200);
    assert.doesNotMatch(await other.text(), /open by itself/, 'web clients (ChatGPT, Claude.ai) do not get the hint');
  });
});
