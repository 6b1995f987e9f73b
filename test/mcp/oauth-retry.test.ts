import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectionAad } from '../../src/connections/connect-flow.js';
import { createCipher } from '../../src/crypto/cipher.js';
import { registerAndConnect, startApp, upstreamProvider, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/** The OAuth path through the credentials abstraction: a 401 means refresh once, then retry. */
describe('OAuth tool calls after the upstream refuses a token', () => {
  const encryptionKey = randomBytes(32);
  let db: TestDatabase;
  let app: TestApp;
  let upstream: TestUpstream;

  before(async () => {
    db = await createTestDatabase();
    app = await startApp({
      databaseUrl: db.url,
      encryptionKey,
      providers: async (url) => {
        upstream = await startUpstream({ redirectUris: [`${url}/api/connect/acme/callback`] });
        return [upstreamProvider(upstream)];
      },
    });
  });
  after(async () => {
    await app.close();
    await upstream.close();
    await db.drop();
  });

  it('refreshes once and retries with the new token', async () => {
    const { userId, apiKey } = await registerAndConnect(app, 'rita');
    // An access token the upstream no longer accepts, though it has not expired by our clock.
    const cipher = createCipher(encryptionKey);
    await app.pool.query('UPDATE connections SET access_token_enc = $1 WHERE user_id = $2', [cipher.encrypt('revoked-access-token', connectionAad(userId, 'acme')), userId]);
    const refreshesBefore = upstream.tokenCalls.refresh_token;
    const callsBefore = upstream.apiRequests.length;

    const client = await connectMcp(app.url, apiKey);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    await client.close();

    assert.equal(result.isError, undefined, textOf(result));
    assert.equal(JSON.parse(textOf(result)).id, 'rita');
    assert.equal(upstream.tokenCalls.refresh_token, refreshesBefore + 1);
    const [refused, retried] = upstream.apiRequests.slice(callsBefore);
    assert.equal(refused?.authorization, 'Bearer revoked-access-token');
    const { rows } = await app.pool.query<{ access_token_enc: string }>('SELECT access_token_enc FROM connections WHERE user_id = $1', [userId]);
    const stored = cipher.decrypt(rows[0]?.access_token_enc ?? '', connectionAad(userId, 'acme'));
    assert.notEqual(stored, 'revoked-access-token');
    assert.equal(retried?.authorization, `Bearer ${stored}`, 'the retry used the refreshed, stored token');
    assert.equal(upstream.apiRequests.length, callsBefore + 2);
  });
});
