import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { bearer } from '../support/app.js';
import { confirmInBrowser } from '../support/browser.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { spawnApp, type AppProcess } from '../support/spawn-app.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { createMcpUpstream, type McpUpstream, type McpUpstreamOptions } from './support/mcp-upstream.js';

/** RFC 7591 registration happens once per upstream for every instance of a deployment, not once per process. */
describe('dynamic client registration at a remote MCP server, across two server processes', () => {
  let db: TestDatabase;
  let oauth: TestUpstream;
  let mcp: McpUpstream;
  const apps: AppProcess[] = [];

  before(async () => {
    db = await createTestDatabase();
    const options: McpUpstreamOptions = { verify: () => undefined };
    const mounted = createMcpUpstream(options);
    mcp = mounted.upstream;
    oauth = await startUpstream({ redirectUris: [], dynamicRegistration: true, mount: mounted.handle });
    mounted.bind(oauth.issuer);
    options.resourceMetadata = { resource: mcp.url, authorization_servers: [oauth.issuer], scopes_supported: ['read'] };
    const config = { databaseUrl: db.url, encryptionKey: randomBytes(32).toString('base64'), providers: [{ id: 'remote', name: 'Remote', auth: 'oauth2', mcp_url: mcp.url }] };
    apps.push(...(await Promise.all([spawnApp(config), spawnApp(config)])));
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await mcp.close();
    await oauth.close();
    await db.drop();
  });

  async function startConnect(app: AppProcess): Promise<string> {
    const reg = await fetch(`${app.url}/api/users/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const { api_key } = (await reg.json()) as { api_key: string };
    const start = await fetch(`${app.url}/api/connect/remote/start`, { headers: bearer(api_key) });
    assert.equal(start.status, 200, await start.clone().text());
    const { authorization_url } = (await start.json()) as { authorization_url: string };
    const { upstreamUrl } = await confirmInBrowser(authorization_url, api_key);
    return new URL(upstreamUrl).searchParams.get('client_id') ?? '';
  }

  it('registers one client when users of both processes start connecting at the same moment', async () => {
    const first = apps[0] as AppProcess;
    const second = apps[1] as AppProcess;
    const ids = await Promise.all([startConnect(first), startConnect(second), startConnect(first), startConnect(second)]);
    assert.equal(oauth.registrations, 1);
    assert.equal(new Set(ids).size, 1);
    assert.ok(ids[0]);
  });
});
