import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { bearer, connectAccount, register, tokenExpiry, upstreamProvider, type TestApp } from '../support/app.js';
import { authorizeInBrowser } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { callApi } from '../support/json-api.js';
import { spawnApp, type AppProcess, type AppProcessConfig } from '../support/spawn-app.js';
import { eventually, sleepUntil } from '../support/time.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * Issue 15, crash consistency: `kill -9` of a server process (a child on its own port, against a
 * test database) in the middle of a connect flow, a token refresh and a key rotation. After a
 * restart every user still works and no half-written row remains.
 *
 * To land the kill at an exact point, the test either makes the upstream hang (the process is
 * then waiting on it), or installs a trigger that makes one statement wait for an advisory lock
 * the test holds (the process is then inside its transaction). After the kill the test lets the
 * statement go on: PostgreSQL finishes it, finds the client gone and rolls the transaction back,
 * as it does when a crashed process's connection closes.
 */
const STALL_LOCK = 4242;

describe('kill -9 in the middle of a flow leaves nothing half-written', () => {
  const encryptionKey = randomBytes(32);
  let db: TestDatabase;
  let upstream: TestUpstream;
  let admin: pg.Client;
  let port: number;
  let server: AppProcess | undefined;
  let config: AppProcessConfig;
  const app = (): TestApp => ({ url: `http://127.0.0.1:${port}` }) as TestApp;

  before(async () => {
    db = await createTestDatabase();
    port = await freePort();
    upstream = await startUpstream({ redirectUris: [`http://127.0.0.1:${port}/api/connect/acme/callback`], accessTokenTtl: 2 });
    config = {
      databaseUrl: db.url,
      encryptionKey: encryptionKey.toString('base64'),
      providers: [upstreamProvider(upstream)],
      port,
      limits: { tokenTimeoutMs: 15_000, callTimeoutMs: 20_000, registrationsPerIpPerHour: 10_000 },
    };
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`CREATE FUNCTION crash_test_stall() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_advisory_xact_lock(${STALL_LOCK}); RETURN NEW; END $$`);
    server = await spawnApp(config);
  });
  after(async () => {
    await server?.stop();
    await admin.end();
    await upstream.close();
    await db.drop();
  });

  async function restart(): Promise<void> {
    server = await spawnApp(config);
  }

  /** Makes the next matching statement wait inside its transaction until `release` is called. */
  async function stallOn(table: string, event: 'INSERT' | 'UPDATE', when: string): Promise<{ stalled: () => Promise<number>; release: () => Promise<void> }> {
    await admin.query(`SELECT pg_advisory_lock(${STALL_LOCK})`);
    await admin.query(`CREATE TRIGGER crash_test_stall BEFORE ${event} ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION crash_test_stall()`);
    return {
      async stalled() {
        let pid = 0;
        await eventually(async () => {
          const { rows } = await admin.query<{ pid: number }>(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`, [STALL_LOCK]);
          pid = rows[0]?.pid ?? 0;
          return pid !== 0;
        }, 10_000);
        return pid;
      },
      async release() {
        await admin.query(`DROP TRIGGER crash_test_stall ON ${table}`);
        await admin.query(`SELECT pg_advisory_unlock(${STALL_LOCK})`);
      },
    };
  }

  /** The backend of the killed process finishes its statement, finds no client and ends, rolling back. */
  async function backendGone(pid: number): Promise<void> {
    await eventually(async () => (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [pid])).rowCount === 0, 10_000);
  }

  async function toolCall(apiKey: string, name = 'whoami'): Promise<{ isError: boolean; text: string }> {
    const res = await fetch(`${app().url}/mcp`, {
      method: 'POST',
      headers: { ...bearer(apiKey), accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } }),
    });
    const body = (await res.json()) as { result: { content: Array<{ text: string }>; isError?: boolean } };
    return { isError: body.result.isError === true, text: body.result.content.map((c) => c.text).join('') };
  }

  async function assertWorks(apiKey: string, login: string): Promise<void> {
    const result = await toolCall(apiKey);
    assert.equal(result.isError, false, result.text);
    assert.deepEqual(JSON.parse(result.text), { id: login, login });
  }

  async function connectionRow(userId: string): Promise<{ access_token_enc: string; refresh_token_enc: string | null; reauth_required_at: Date | null } | undefined> {
    const { rows } = await admin.query(`SELECT access_token_enc, refresh_token_enc, reauth_required_at FROM connections WHERE user_id = $1 AND provider_id = 'acme'`, [userId]);
    return rows[0];
  }

  it('in a connect flow, while the code is exchanged: the state is spent, nothing is stored, and connecting again works', async () => {
    const bystander = await register(app(), 'bystander');
    await connectAccount(app(), bystander.apiKey, 'bystander');
    const user = await register(app(), 'kim');
    const start = await callApi(app().url, 'GET', '/api/connect/acme/start', { key: user.apiKey });
    assert.equal(start.status, 200, start.text);
    const codesBefore = upstream.tokenCalls.authorization_code;
    upstream.setTokenEndpointHanging(true);
    const browser = authorizeInBrowser(start.body.authorization_url as string, 'kim', user.apiKey).catch((err: unknown) => err);
    await eventually(() => upstream.tokenCalls.authorization_code > codesBefore, 10_000);
    await server?.crash();
    upstream.setTokenEndpointHanging(false);
    assert.ok((await browser) instanceof Error, 'the browser saw the connection drop');
    await restart();

    assert.equal(await connectionRow(user.userId), undefined, 'no connection was stored');
    const states = await admin.query(`SELECT 1 FROM oauth_states WHERE user_id = $1`, [user.userId]);
    assert.equal(states.rowCount, 0, 'the single-use state was spent, not left half-used');
    await connectAccount(app(), user.apiKey, 'kim');
    await assertWorks(user.apiKey, 'kim');
    await assertWorks(bystander.apiKey, 'bystander');
  });

  it('in a token refresh, while the token endpoint has not answered: the refresh token is kept and works after the restart', async () => {
    const user = await register(app(), 'lena');
    await connectAccount(app(), user.apiKey, 'lena');
    const stored = await connectionRow(user.userId);
    await sleepUntil((await tokenExpiry(app(), user.apiKey)).getTime() + 50);
    const refreshesBefore = upstream.tokenCalls.refresh_token;
    upstream.setTokenEndpointHanging(true);
    const call = toolCall(user.apiKey).catch((err: unknown) => err);
    await eventually(() => upstream.tokenCalls.refresh_token > refreshesBefore, 10_000);
    await server?.crash();
    upstream.setTokenEndpointHanging(false);
    assert.ok((await call) instanceof Error);
    await restart();

    assert.deepEqual(await connectionRow(user.userId), stored, 'the row is exactly as before the refresh');
    // The refresh happens again with the kept refresh token, which the upstream never saw spent.
    await assertWorks(user.apiKey, 'lena');
    const renewed = await connectionRow(user.userId);
    assert.notEqual(renewed?.refresh_token_enc, stored?.refresh_token_enc, 'the upstream rotated it, and the new one was stored');
    // And the rotated one works in turn: the upstream kills the access token, the next call refreshes again.
    upstream.revokeAccessTokensFor('lena');
    await assertWorks(user.apiKey, 'lena');
  });

  it('in a token refresh, after the upstream rotated the refresh token but before the commit: the row is as before, and the user is told to reconnect', async () => {
    const user = await register(app(), 'mona');
    await connectAccount(app(), user.apiKey, 'mona');
    const stored = await connectionRow(user.userId);
    await sleepUntil((await tokenExpiry(app(), user.apiKey)).getTime() + 50);
    const stall = await stallOn('connections', 'UPDATE', `NEW.refresh_token_enc IS DISTINCT FROM OLD.refresh_token_enc`);
    const call = toolCall(user.apiKey).catch((err: unknown) => err);
    const pid = await stall.stalled();
    await server?.crash();
    await stall.release();
    await backendGone(pid);
    assert.ok((await call) instanceof Error);
    await restart();

    assert.deepEqual(await connectionRow(user.userId), stored, 'rolled back whole: the old access and refresh token together');
    // The only copy of the rotated token died with the process. The upstream treats the old one as
    // spent (oidc-provider revokes the grant on reuse), so the user must connect again — told so clearly.
    const result = await toolCall(user.apiKey);
    assert.equal(result.isError, true);
    assert.match(result.text, /Your Acme connection needs to be re-authorized\..*\/api\/connect\/acme\/start/);
    await connectAccount(app(), user.apiKey, 'mona');
    await assertWorks(user.apiKey, 'mona');
  });

  it('in a key rotation, inside its transaction: the old key works, no new key exists, and rotating again works', async () => {
    const user = await register(app(), 'nico');
    await connectAccount(app(), user.apiKey, 'nico');
    const keys = async (): Promise<number> => (await admin.query(`SELECT 1 FROM api_keys WHERE user_id = $1`, [user.userId])).rowCount ?? 0;
    const listed = await callApi(app().url, 'GET', '/api/keys', { key: user.apiKey });
    const keyId = (listed.body.keys as Array<{ id: string }>)[0]?.id as string;
    const keysBefore = await keys();

    const stall = await stallOn('audit_events', 'INSERT', `NEW.type = 'key.rotated'`);
    const rotation = callApi(app().url, 'POST', `/api/keys/${keyId}/rotate`, { key: user.apiKey, body: { grace_seconds: 0 } }).catch((err: unknown) => err);
    const pid = await stall.stalled();
    await server?.crash();
    await stall.release();
    await backendGone(pid);
    assert.ok((await rotation) instanceof Error);
    await restart();

    assert.equal(await keys(), keysBefore, 'the new key was rolled back with the rest');
    const old = await admin.query(`SELECT revoked_at, expires_at, replaced_by FROM api_keys WHERE id = $1`, [keyId]);
    assert.deepEqual(old.rows[0], { revoked_at: null, expires_at: null, replaced_by: null }, 'the old key is untouched');
    await assertWorks(user.apiKey, 'nico');

    const again = await callApi(app().url, 'POST', `/api/keys/${keyId}/rotate`, { key: user.apiKey, body: { grace_seconds: 0 } });
    assert.equal(again.status, 201, again.text);
    await assertWorks(again.body.api_key as string, 'nico');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
