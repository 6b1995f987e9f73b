import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectionAad } from '../../src/connections/connect-flow.js';
import { createCipher } from '../../src/crypto/cipher.js';
import { register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, dumpDatabase, type TestDatabase } from '../support/database.js';
import { callApi } from '../support/json-api.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

const USER_KEY = `hk_live_${randomBytes(16).toString('hex')}`;
const FALLBACK_KEY = `hk_ops_${randomBytes(16).toString('hex')}`;
const REFUSED_KEY = `hk_live_${randomBytes(16).toString('hex')}`;
/** Accepted when stored, revoked upstream before use: the upstream's 401 body echoes it. */
const REVOKED_KEY = `hk_live_${randomBytes(16).toString('hex')}`;

describe('upstream API keys never appear in plaintext', () => {
  const encryptionKey = randomBytes(32);
  const seen: string[] = [];
  let db: TestDatabase;
  let app: TestApp;
  let upstream: KeyUpstream;
  let userId: string;

  before(async () => {
    db = await createTestDatabase();
    upstream = await startKeyUpstream({
      accounts: { [USER_KEY]: 'user-acct', [FALLBACK_KEY]: 'ops-acct', [REVOKED_KEY]: 'revoked-acct' },
      style: { query: 'key' },
    });
    app = await startApp({
      databaseUrl: db.url,
      encryptionKey,
      env: { HITL_API_KEY: FALLBACK_KEY },
      providers: [
        keyProvider(upstream, { api_key: { query: 'key' }, fallback_key: '${HITL_API_KEY}' }),
        keyProvider(upstream, { id: 'other', name: 'Other', api_key: { query: 'key' } }),
      ],
    });
    const user = await register(app, 'keyholder');
    userId = user.userId;
    const api = (method: string, path: string, body?: unknown) => callApi(app.url, method, path, { key: user.apiKey, body, seen });

    // Every path a key travels: fallback use, refused PUT, accepted PUT, use, status, revoked key, delete.
    const mcp = await connectMcp(app.url, user.apiKey);
    const tool = async (name: string): Promise<string> => {
      const text = textOf(await mcp.callTool({ name, arguments: {} }));
      seen.push(text);
      return text;
    };
    assert.match(await tool('hitl_whoami'), /ops-acct/);
    assert.equal((await api('PUT', '/api/connect/hitl/key', { api_key: REFUSED_KEY })).status, 400);
    assert.equal((await api('PUT', '/api/connect/hitl/key', { api_key: USER_KEY })).status, 200);
    assert.match(await tool('hitl_whoami'), /user-acct/);
    assert.equal((await api('GET', '/api/connect/hitl/status')).body.key_last4, USER_KEY.slice(-4));
    assert.equal((await api('PUT', '/api/connect/other/key', { api_key: REVOKED_KEY })).status, 200);
    upstream.revokeKey(REVOKED_KEY);
    assert.match(await tool('other_whoami'), /refused your API key/);
    assert.equal((await api('DELETE', '/api/connect/other')).status, 200);
    await mcp.close();
  });
  after(async () => {
    await app.close();
    await upstream.close();
    await db.drop();
  });

  it('the database holds the key only as an AES-256-GCM ciphertext bound to its user and provider', async () => {
    const { rows } = await app.pool.query<{ access_token_enc: string }>('SELECT access_token_enc FROM connections WHERE user_id = $1 AND provider_id = $2', [
      userId,
      'hitl',
    ]);
    const sealed = rows[0]?.access_token_enc ?? '';
    assert.match(sealed, /^v1\.[0-9a-f]{8}\./);
    const cipher = createCipher(encryptionKey);
    assert.equal(cipher.decrypt(sealed, connectionAad(userId, 'hitl')), USER_KEY);
    assert.throws(() => cipher.decrypt(sealed, connectionAad(userId, 'other')), Error, 'the ciphertext does not decrypt for another provider');

    const dump = await dumpDatabase(app.pool);
    for (const [name, key] of Object.entries({ USER_KEY, FALLBACK_KEY, REFUSED_KEY, REVOKED_KEY })) {
      assert.ok(!dump.includes(key), `${name} appears in the database`);
    }
  });

  it('no log line contains a key, although every key went upstream', async () => {
    for (const key of [USER_KEY, FALLBACK_KEY, REFUSED_KEY, REVOKED_KEY]) assert.ok(upstream.requestsWith(key).length > 0);
    const logs = app.logs.join('');
    assert.ok(logs.includes('API key set'), 'the app logged the key being set');
    for (const [name, key] of Object.entries({ USER_KEY, FALLBACK_KEY, REFUSED_KEY, REVOKED_KEY })) {
      assert.ok(!logs.includes(key), `${name} appears in the logs`);
      assert.ok(!logs.includes(encodeURIComponent(key)), `${name} appears URL-encoded in the logs`);
    }
  });

  it('no response contains a key: not PUT, status, DELETE nor any tool result (status shows only the last four)', async () => {
    assert.ok(seen.length >= 8);
    const all = seen.join('\n');
    for (const [name, key] of Object.entries({ USER_KEY, FALLBACK_KEY, REFUSED_KEY, REVOKED_KEY })) {
      assert.ok(!all.includes(key), `${name} appears in a response`);
      assert.ok(!all.includes(key.slice(0, -4)), `more than the last four characters of ${name} appear in a response`);
    }
    assert.ok(all.includes('[redacted]'), 'the upstream echoed a key and it was scrubbed');
  });
});
