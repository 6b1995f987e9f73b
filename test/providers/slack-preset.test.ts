import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bearer, register, startApp, type TestApp } from '../support/app.js';
import { confirmInBrowser } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A loopback server answering in the shapes Slack documents for OAuth v2 with user scopes
 * (docs.slack.dev: oauth.v2.access puts the user token under `authed_user`, errors are HTTP 200
 * with `ok: false`) and for the Web API methods the preset's tools use. The preset's endpoints
 * are pointed here; everything else in the preset is tested as shipped.
 */
async function startSlackLike(): Promise<{ url: string; nextAccount: { id: string }; posted: unknown[]; revoked: string[]; authorizeQueries: URLSearchParams[]; close(): Promise<void> }> {
  const tokens = new Map<string, string>();
  const codes = new Map<string, string>();
  const state = { url: '', nextAccount: { id: '' }, posted: [] as unknown[], revoked: [] as string[], authorizeQueries: [] as URLSearchParams[] };
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', state.url);
    const json = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    const user = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (url.pathname === '/oauth/v2/authorize') {
      state.authorizeQueries.push(url.searchParams);
      const code = `code-${randomBytes(6).toString('hex')}`;
      codes.set(code, state.nextAccount.id);
      const back = new URL(url.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return void res.writeHead(302, { location: back.href }).end();
    }
    if (url.pathname === '/api/oauth.v2.access') {
      const form = new URLSearchParams(await body(req));
      if (form.get('client_id') !== 'slack-client' || form.get('client_secret') !== 'slack-secret') return json({ ok: false, error: 'invalid_client_id' });
      const account = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!account) return json({ ok: false, error: 'invalid_code' });
      const token = `xoxp-${randomBytes(8).toString('hex')}`;
      tokens.set(token, account);
      return json({ ok: true, app_id: 'A1', authed_user: { id: account, scope: 'chat:write,users:read', access_token: token, token_type: 'user' }, team: { id: 'T1', name: 'Test' }, enterprise: null, is_enterprise_install: false });
    }
    if (url.pathname === '/api/auth.revoke') {
      const token = new URLSearchParams(await body(req)).get('token') ?? '';
      state.revoked.push(token);
      tokens.delete(token);
      return json({ ok: true, revoked: true });
    }
    if (!user) return json({ ok: false, error: 'invalid_auth' });
    if (url.pathname === '/api/auth.test') return json({ ok: true, url: 'https://test.slack.com/', team: 'Test', user: user.toLowerCase(), team_id: 'T1', user_id: user });
    if (url.pathname === '/api/chat.postMessage' && req.method === 'POST') {
      const message = JSON.parse(await body(req)) as Record<string, unknown>;
      state.posted.push({ as: user, ...message });
      return json({ ok: true, channel: message.channel, ts: '1733212800.000100' });
    }
    return json({ ok: false, error: 'unknown_method' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...state,
    get url() {
      return state.url;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('the Slack preset: user tokens from authed_user, as the person who connected', () => {
  let db: TestDatabase;
  let app: TestApp;
  let slack: Awaited<ReturnType<typeof startSlackLike>>;

  before(async () => {
    db = await createTestDatabase();
    slack = await startSlackLike();
    const preset = JSON.parse(await readFile(new URL('../../src/providers/presets/slack.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    app = await startApp({
      databaseUrl: db.url,
      env: { SLACK_CLIENT_ID: 'slack-client', SLACK_CLIENT_SECRET: 'slack-secret' },
      providers: [
        {
          ...preset,
          authorization_url: `${slack.url}/oauth/v2/authorize`,
          token_url: `${slack.url}/api/oauth.v2.access`,
          revocation_url: `${slack.url}/api/auth.revoke`,
          api_base_url: `${slack.url}/api`,
        },
      ],
    });
  });
  after(async () => {
    await app.close();
    await slack.close();
    await db.drop();
  });

  async function connect(account: string): Promise<string> {
    const { apiKey } = await register(app, account);
    slack.nextAccount.id = account;
    const start = (await (await fetch(`${app.url}/api/connect/slack/start`, { headers: bearer(apiKey) })).json()) as { authorization_url: string };
    const { upstreamUrl, cookies } = await confirmInBrowser(start.authorization_url, apiKey);
    const callback = new URL((await fetch(upstreamUrl, { redirect: 'manual' })).headers.get('location') ?? '');
    const done = await fetch(callback, { headers: cookies.headersFor(callback) });
    assert.equal(done.status, 200, await done.text());
    return apiKey;
  }

  it('asks for user scopes without PKCE, and names the Slack user as the account', async () => {
    const apiKey = await connect('U0ANA');
    const query = slack.authorizeQueries.at(-1) as URLSearchParams;
    assert.match(query.get('user_scope') ?? '', /chat:write/);
    assert.equal(query.get('code_challenge'), null);
    const status = (await (await fetch(`${app.url}/api/connect/slack/status`, { headers: bearer(apiKey) })).json()) as { connected: boolean; account_id: string };
    assert.deepEqual([status.connected, status.account_id], [true, 'U0ANA']);
  });

  it('calls the Web API with each person’s own user token, and revokes it on disconnect', async () => {
    const ana = await connect('U0ANA2');
    const ben = await connect('U0BEN');
    const anaMcp = await connectMcp(app.url, ana);
    const benMcp = await connectMcp(app.url, ben);
    try {
      assert.equal((JSON.parse(textOf(await anaMcp.callTool({ name: 'slack_whoami', arguments: {} }))) as { user_id: string }).user_id, 'U0ANA2');
      assert.equal((JSON.parse(textOf(await benMcp.callTool({ name: 'slack_whoami', arguments: {} }))) as { user_id: string }).user_id, 'U0BEN');
      await benMcp.callTool({ name: 'slack_post_message', arguments: { channel: 'C1', text: 'hello' } });
      assert.deepEqual(slack.posted.at(-1), { as: 'U0BEN', channel: 'C1', text: 'hello' });
    } finally {
      await Promise.all([anaMcp.close(), benMcp.close()]);
    }
    const revokedBefore = slack.revoked.length;
    assert.equal((await fetch(`${app.url}/api/connect/slack`, { method: 'DELETE', headers: bearer(ben) })).status, 200);
    assert.equal(slack.revoked.length, revokedBefore + 1);
    assert.match(slack.revoked.at(-1) ?? '', /^xoxp-/);
  });
});
