import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectionAad } from '../../src/connections/connect-flow.js';
import { createCipher } from '../../src/crypto/cipher.js';
import { bearer, register, startApp, upstreamProvider, type TestApp } from '../support/app.js';
import { authorizeInBrowser } from '../support/browser.js';
import { createTestDatabase, dumpDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

describe('secrets never appear in plaintext', () => {
  const key = randomBytes(32);
  let db: TestDatabase;
  let app: TestApp;
  let upstream: TestUpstream;
  let apiKey: string;
  let userId: string;
  let mcp: Client;

  before(async () => {
    db = await createTestDatabase();
    app = await startApp({
      databaseUrl: db.url,
      encryptionKey: key,
      providers: async (url) => {
        upstream = await startUpstream({ redirectUris: [`${url}/api/connect/acme/callback`] });
        return [upstreamProvider(upstream)];
      },
    });
    ({ apiKey, userId } = await register(app, 'secretive'));
    const start = (await (await fetch(`${app.url}/api/connect/acme/start`, { headers: bearer(apiKey) })).json()) as { authorization_url: string };
    assert.equal((await authorizeInBrowser(start.authorization_url, 'secretive', apiKey)).status, 200);
    mcp = await connectMcp(app.url, apiKey);
    const result = await mcp.callTool({ name: 'whoami', arguments: {} });
    assert.equal(JSON.parse(textOf(result)).id, 'secretive');
  });
  after(async () => {
    await mcp.close();
    await app.close();
    await upstream.close();
    await db.drop();
  });

  it('the database holds tokens only as AES-256-GCM ciphertexts and the key only as a bcrypt hash', async () => {
    const { rows } = await app.pool.query('SELECT access_token_enc, refresh_token_enc FROM connections WHERE user_id = $1', [userId]);
    const row = rows[0] as { access_token_enc: string; refresh_token_enc: string };
    assert.match(row.access_token_enc, /^v1\.[0-9a-f]{8}\./);
    assert.match(row.refresh_token_enc, /^v1\.[0-9a-f]{8}\./);
    const cipher = createCipher(key);
    const aad = connectionAad(userId, 'acme');
    const accessToken = cipher.decrypt(row.access_token_enc, aad);
    const refreshToken = cipher.decrypt(row.refresh_token_enc, aad);
    // The access token we decrypt is the one the upstream saw on the tool call.
    assert.equal(upstream.apiRequests.at(-1)?.authorization, `Bearer ${accessToken}`);

    const dump = await dumpDatabase(app.pool);
    for (const [name, secret] of Object.entries({ accessToken, refreshToken, apiKey, clientSecret: upstream.clientSecret })) {
      assert.ok(!dump.includes(secret), `${name} appears in the database`);
    }
    assert.ok(!dump.includes(apiKey.split('_')[2] as string), 'the secret part of the key appears in the database');
  });

  it('no log line contains a token, the key or the client secret', async () => {
    const { rows } = await app.pool.query('SELECT access_token_enc, refresh_token_enc FROM connections WHERE user_id = $1', [userId]);
    const cipher = createCipher(key);
    const aad = connectionAad(userId, 'acme');
    const logs = app.logs.join('');
    assert.ok(app.logs.length > 5, 'the app logged its requests');
    for (const secret of [
      cipher.decrypt(rows[0].access_token_enc, aad),
      cipher.decrypt(rows[0].refresh_token_enc, aad),
      apiKey,
      upstream.clientSecret,
    ]) {
      assert.ok(!logs.includes(secret), 'a secret appears in the logs');
    }
    assert.ok(!/[?&](code|state)=/.test(logs), 'OAuth codes or states appear in the logs');
  });
});
