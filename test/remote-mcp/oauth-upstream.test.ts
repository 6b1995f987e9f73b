import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { bearer, register, startApp, type TestApp } from '../support/app.js';
import { authorizeInBrowser } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { createMcpUpstream, type McpUpstream, type McpUpstreamOptions } from './support/mcp-upstream.js';

/**
 * A remote MCP server behind OAuth (issue 12): the SDK's McpServer whose authorization server is
 * oidc-provider on the same origin. The provider is the contract's minimal shape — no client,
 * no endpoints — so the server must discover the authorization server and register itself.
 */
describe('a remote MCP server behind OAuth, discovered and registered with at run time', () => {
  let db: TestDatabase;
  let app: TestApp;
  let oauth: TestUpstream;
  let mcp: McpUpstream;
  const clients: Client[] = [];

  before(async () => {
    db = await createTestDatabase();
    const mcpOptions: McpUpstreamOptions = { verify: async (auth) => (auth?.startsWith('Bearer ') ? oauth.accountOf(auth.slice(7), mcp.url) : undefined) };
    const mounted = createMcpUpstream(mcpOptions);
    mcp = mounted.upstream;
    app = await startApp({
      databaseUrl: db.url,
      limits: { apiTimeoutMs: 5_000 },
      providers: async (url) => {
        oauth = await startUpstream({
          redirectUris: [`${url}/api/connect/pre/callback`],
          dynamicRegistration: true,
          mount: mounted.handle,
        });
        mounted.bind(oauth.issuer);
        mcpOptions.resourceMetadata = { resource: mcp.url, authorization_servers: [oauth.issuer], scopes_supported: ['read', 'write'] };
        return [
          { id: 'remote', name: 'Remote', auth: 'oauth2', mcp_url: mcp.url },
          { id: 'pre', name: 'Pre', auth: 'oauth2', mcp_url: mcp.url, client_id: oauth.clientId, client_secret: oauth.clientSecret, include: ['whoami'] },
        ];
      },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app.close();
    await mcp.close();
    await oauth.close();
    await db.drop();
  });

  async function connect(apiKey: string, provider: string, login: string): Promise<string> {
    const start = await fetch(`${app.url}/api/connect/${provider}/start`, { headers: bearer(apiKey) });
    assert.equal(start.status, 200, await start.clone().text());
    const { authorization_url } = (await start.json()) as { authorization_url: string };
    const done = await authorizeInBrowser(authorization_url, login, apiKey);
    assert.equal(done.status, 200, done.body);
    return done.upstreamUrl ?? authorization_url;
  }

  async function user(name: string, provider = 'remote'): Promise<{ apiKey: string; mcp: Client; authorizationUrl: string }> {
    const { apiKey } = await register(app, name);
    const authorizationUrl = await connect(apiKey, provider, name);
    const client = await connectMcp(app.url, apiKey);
    clients.push(client);
    return { apiKey, mcp: client, authorizationUrl };
  }

  it('shows a user who has not connected one tool that says how to connect', async () => {
    const { apiKey } = await register(app, 'newcomer');
    const client = await connectMcp(app.url, apiKey);
    clients.push(client);
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['pre_connect', 'remote_connect']);
    assert.match(textOf(await client.callTool({ name: 'remote_connect', arguments: {} })), /GET .*\/api\/connect\/remote\/start/);
  });

  it('does not offer a remote MCP server as a way to sign in', async () => {
    const landing = await (await fetch(`${app.url}/`)).text();
    assert.doesNotMatch(landing, /Sign in with (Remote|Pre)/);
  });

  it('connects two users to their own upstream accounts, with PKCE S256 and resource = mcp_url; each sees only their own results', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const authorize = new URL(alice.authorizationUrl);
    assert.equal(authorize.origin, oauth.issuer);
    assert.equal(authorize.searchParams.get('resource'), mcp.url);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    // RFC 8707 §2.2: the token request names the resource again.
    assert.ok(oauth.tokenResources.length > 0);
    assert.deepEqual(oauth.tokenResources.filter((r) => r.resource !== mcp.url), []);
    assert.deepEqual((await alice.mcp.callTool({ name: 'remote_whoami', arguments: {} })).structuredContent, { account: 'alice' });
    assert.equal(textOf(await bob.mcp.callTool({ name: 'remote_write_note', arguments: { text: 'x' } })), 'bob wrote x');

    const calls = Array.from({ length: 200 }, (_, i) => {
      const [who, expected] = i % 2 === 0 ? [alice, 'alice'] : [bob, 'bob'];
      return who.mcp.callTool({ name: 'remote_whoami', arguments: {} }).then((r) => assert.equal((r.structuredContent as { account: string }).account, expected));
    });
    await Promise.all(calls);
  });

  it('registered one client for every user, stored with its secret encrypted', async () => {
    assert.equal(oauth.registrations, 1);
    const { rows } = await app.pool.query<{ client_id: string; client_secret_enc: string | null }>('SELECT client_id, client_secret_enc FROM mcp_client_registrations');
    assert.equal(rows.length, 1);
    assert.ok(rows[0]?.client_secret_enc && !rows[0].client_secret_enc.includes(oauth.clientSecret));
  });

  it('uses a pre-registered client when the providers file names one, and include narrows the tools', async () => {
    const carol = await user('carol', 'pre');
    assert.equal(new URL(carol.authorizationUrl).searchParams.get('client_id'), oauth.clientId);
    assert.equal(oauth.registrations, 1);
    const names = (await carol.mcp.listTools()).tools.map((t) => t.name).sort();
    assert.ok(names.includes('pre_whoami') && !names.includes('pre_write_note'));
    assert.equal(textOf(await carol.mcp.callTool({ name: 'pre_whoami', arguments: {} })), 'carol');
  });

  it('refreshes once and retries when the upstream refuses a token before its expiry (401)', async () => {
    const dave = await user('dave');
    assert.equal(textOf(await dave.mcp.callTool({ name: 'remote_whoami', arguments: {} })), 'dave');
    const refreshes = oauth.tokenCalls.refresh_token;
    oauth.revokeAccessTokensFor('dave');
    const r = await dave.mcp.callTool({ name: 'remote_whoami', arguments: {} });
    assert.equal(textOf(r), 'dave');
    assert.equal(oauth.tokenCalls.refresh_token, refreshes + 1);
  });

  it('revokes upstream on disconnect, after which the connect tool is back', async () => {
    const erin = await user('erin');
    assert.equal(textOf(await erin.mcp.callTool({ name: 'remote_whoami', arguments: {} })), 'erin');
    const revocations = oauth.revocations;
    const res = await fetch(`${app.url}/api/connect/remote`, { method: 'DELETE', headers: bearer(erin.apiKey) });
    assert.equal(res.status, 200);
    assert.ok(oauth.revocations > revocations);
    const after = await erin.mcp.callTool({ name: 'remote_whoami', arguments: {} });
    assert.equal(after.isError, true);
    assert.match(textOf(after), /not connected Remote/);
  });

  it('refreshes a token that has expired before forwarding the call', async () => {
    oauth.setAccessTokenTtl(1);
    let gina;
    try {
      gina = await user('gina');
    } finally {
      oauth.setAccessTokenTtl(3600);
    }
    await new Promise((r) => setTimeout(r, 1_500));
    const refreshes = oauth.tokenCalls.refresh_token;
    assert.equal(textOf(await gina.mcp.callTool({ name: 'remote_whoami', arguments: {} })), 'gina');
    assert.equal(oauth.tokenCalls.refresh_token, refreshes + 1);
    assert.deepEqual(oauth.tokenResources.at(-1), { grant: 'refresh_token', resource: mcp.url });
  });

  it('registers anew when the upstream forgets our client (invalid_client), and the user reconnects', async () => {
    const frank = await user('frank');
    const registrations = oauth.registrations;
    oauth.forgetRegisteredClients();
    oauth.revokeAccessTokensFor('frank');
    const refused = await frank.mcp.callTool({ name: 'remote_whoami', arguments: {} });
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /no longer knows this server's OAuth client/);
    await connect(frank.apiKey, 'remote', 'frank');
    assert.equal(oauth.registrations, registrations + 1);
    assert.equal(textOf(await frank.mcp.callTool({ name: 'remote_whoami', arguments: {} })), 'frank');
  });
});
