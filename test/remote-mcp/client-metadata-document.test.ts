import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { bearer, register, startApp, type TestApp } from '../support/app.js';
import { authorizeUntilRedirect, confirmInBrowser } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { createMcpUpstream, type McpUpstream, type McpUpstreamOptions } from './support/mcp-upstream.js';

/** The app listens on plain http; its PUBLIC_URL says https (as behind TLS termination). */
const plain = (url: string): string => url.replace(/^https:/, 'http:');

/**
 * Client ID Metadata Documents (issue 12): when the upstream's authorization server (a real
 * oidc-provider with the feature on) advertises `client_id_metadata_document_supported` and
 * PUBLIC_URL is HTTPS, our client_id is the URL of a document this server serves; nothing is
 * registered. With an http PUBLIC_URL the same upstream gets RFC 7591 registration instead.
 */
describe('a remote MCP server whose authorization server takes Client ID Metadata Documents', () => {
  let db: TestDatabase;
  let app: TestApp;
  let publicUrl: string;
  let oauth: TestUpstream;
  let mcp: McpUpstream;
  const clients: Client[] = [];
  const fetchedDocuments: string[] = [];

  before(async () => {
    db = await createTestDatabase();
    const mcpOptions: McpUpstreamOptions = { verify: async (auth) => (auth?.startsWith('Bearer ') ? oauth.accountOf(auth.slice(7), mcp.url) : undefined) };
    const mounted = createMcpUpstream(mcpOptions);
    mcp = mounted.upstream;
    app = await startApp({
      databaseUrl: db.url,
      limits: { apiTimeoutMs: 5_000 },
      publicUrl: (url) => url.replace(/^http:/, 'https:'),
      providers: async () => {
        oauth = await startUpstream({
          redirectUris: [],
          dynamicRegistration: true,
          // oidc-provider's own fetch refuses loopback addresses; this one reaches the app's http port.
          clientIdMetadataDocuments: {
            fetch: (input, init) => {
              fetchedDocuments.push(String(input));
              const { dispatcher: _ssrfGuard, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
              return fetch(plain(String(input)), rest);
            },
          },
          mount: mounted.handle,
        });
        mounted.bind(oauth.issuer);
        mcpOptions.resourceMetadata = { resource: mcp.url, authorization_servers: [oauth.issuer], scopes_supported: ['read', 'write'] };
        return [
          { id: 'remote', name: 'Remote', auth: 'oauth2', mcp_url: mcp.url },
          { id: 'pre', name: 'Pre', auth: 'oauth2', mcp_url: mcp.url, client_id: oauth.clientId, client_secret: oauth.clientSecret },
        ];
      },
    });
    publicUrl = app.url.replace(/^http:/, 'https:');
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app.close();
    await mcp.close();
    await oauth.close();
    await db.drop();
  });

  /** The connect flow as a browser runs it, with every https URL of ours mapped to the app's http port. */
  async function connect(target: TestApp, apiKey: string, login: string): Promise<URL> {
    const start = await fetch(`${target.url}/api/connect/remote/start`, { headers: bearer(apiKey) });
    assert.equal(start.status, 200, await start.clone().text());
    const { authorization_url } = (await start.json()) as { authorization_url: string };
    const { upstreamUrl, cookies } = await confirmInBrowser(plain(authorization_url), apiKey);
    const callback = new URL(plain((await authorizeUntilRedirect(upstreamUrl, login)).href));
    const done = await fetch(callback, { redirect: 'manual', headers: cookies.headersFor(callback) });
    assert.equal(done.status, 200, await done.text());
    return new URL(upstreamUrl);
  }

  it('serves the document: a public client whose only redirect URI is the provider’s callback', async () => {
    const res = await fetch(`${app.url}/api/connect/remote/client-metadata.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
    const document = (await res.json()) as Record<string, unknown>;
    assert.equal(document.client_id, `${publicUrl}/api/connect/remote/client-metadata.json`);
    assert.deepEqual(document.redirect_uris, [`${publicUrl}/api/connect/remote/callback`]);
    assert.equal(document.token_endpoint_auth_method, 'none');
    assert.equal('client_secret' in document, false);
    // A provider with the operator's own client has no document; neither has an unknown one.
    assert.equal((await fetch(`${app.url}/api/connect/pre/client-metadata.json`)).status, 404);
    assert.equal((await fetch(`${app.url}/api/connect/nope/client-metadata.json`)).status, 404);
  });

  it('connects with the document URL as client_id, registers nothing, and calls and refreshes as the user', async () => {
    oauth.setAccessTokenTtl(2);
    let authorize: URL;
    let apiKey: string;
    try {
      ({ apiKey } = await register(app, 'alice'));
      authorize = await connect(app, apiKey, 'alice');
    } finally {
      oauth.setAccessTokenTtl(3600);
    }
    assert.equal(authorize.searchParams.get('client_id'), `${publicUrl}/api/connect/remote/client-metadata.json`);
    assert.ok(fetchedDocuments.includes(`${publicUrl}/api/connect/remote/client-metadata.json`));
    assert.equal(oauth.registrations, 0);
    assert.equal((await app.pool.query('SELECT 1 FROM mcp_client_registrations')).rowCount, 0);

    const client = await connectMcp(app.url, apiKey);
    clients.push(client);
    assert.equal(textOf(await client.callTool({ name: 'remote_whoami', arguments: {} })), 'alice');
    // A public client refreshes with its client_id alone.
    await new Promise((r) => setTimeout(r, 2_500));
    const refreshes = oauth.tokenCalls.refresh_token;
    assert.equal(textOf(await client.callTool({ name: 'remote_whoami', arguments: {} })), 'alice');
    assert.equal(oauth.tokenCalls.refresh_token, refreshes + 1);
  });

  it('registers with RFC 7591 instead when PUBLIC_URL is plain http', async () => {
    const plainApp = await startApp({
      databaseUrl: db.url,
      limits: { apiTimeoutMs: 5_000 },
      providers: [{ id: 'remote', name: 'Remote', auth: 'oauth2', mcp_url: mcp.url }],
    });
    try {
      assert.equal((await fetch(`${plainApp.url}/api/connect/remote/client-metadata.json`)).status, 404);
      const { apiKey } = await register(plainApp, 'bob');
      const before = oauth.registrations;
      const authorize = await connect(plainApp, apiKey, 'bob');
      assert.equal(oauth.registrations, before + 1);
      assert.doesNotMatch(authorize.searchParams.get('client_id') ?? '', /^https:/);
    } finally {
      await plainApp.close();
    }
  });
});
