import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { registerClient, parseClientMetadata } from '../../src/oauth-server/client-registration.js';
import { bearer, register, startAppWithUpstream } from '../support/app.js';
import { textOf } from '../support/mcp-client.js';
import { connectWithOAuth, selfSignedCertificate, TestBrowser, TestOAuthProvider } from './support.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

async function whoami(client: Client): Promise<unknown> {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  assert.equal(result.isError, undefined, textOf(result));
  return JSON.parse(textOf(result));
}

describe('MCP clients sign in with the SDK’s own OAuth support', () => {
  let f: Fixture;
  const tls = selfSignedCertificate();
  let documents: Server;
  let documentsUrl = '';
  let documentFetches = 0;
  const clients: Client[] = [];
  /** Every secret the tests saw, for the log check at the end. */
  const secrets: string[] = [];
  const remember = (provider: TestOAuthProvider) => {
    const tokens = provider.tokens();
    secrets.push(...[provider.code, tokens?.access_token, tokens?.refresh_token, provider.clientInformation()?.client_secret].filter((s): s is string => Boolean(s)));
  };

  before(async () => {
    // The "client's website" serving its Client ID Metadata Document over HTTPS.
    documents = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      documentFetches += 1;
      const clientId = `${documentsUrl}${req.url}`;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end(
        JSON.stringify({
          client_id: clientId,
          client_name: 'Metadata <Document> Client',
          redirect_uris: ['http://127.0.0.1:7/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
        }),
      );
    });
    await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve));
    documentsUrl = `https://127.0.0.1:${(documents.address() as AddressInfo).port}`;
    f = await startAppWithUpstream({
      clientMetadataFetch: { ca: tls.cert, addressPolicy: (address) => address === '127.0.0.1' },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    documents.closeAllConnections();
    await new Promise((resolve) => documents.close(resolve));
    await f.close();
  });

  it('two users at once: discovery, DCR, PKCE + resource, token, tool calls as each user', async () => {
    const alice = new TestOAuthProvider(new TestBrowser(f.app.url, 'alice'));
    const bob = new TestOAuthProvider(new TestBrowser(f.app.url, 'bob'));
    const [aliceClient, bobClient] = await Promise.all([connectWithOAuth(f.app.url, alice), connectWithOAuth(f.app.url, bob)]);
    clients.push(aliceClient, bobClient);

    const url = alice.authorizationUrls[0] as URL;
    assert.equal(url.origin + url.pathname, `${f.app.url}/oauth/authorize`);
    assert.equal(url.searchParams.get('resource'), `${f.app.url}/mcp`);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('scope'), 'tools:read tools:write');
    assert.match(url.searchParams.get('client_id') ?? '', /^mcp_client_/);

    remember(alice);
    remember(bob);
    assert.deepEqual(await whoami(aliceClient), { id: 'alice', login: 'alice' });
    assert.deepEqual(await whoami(bobClient), { id: 'bob', login: 'bob' });
    const tokens = alice.tokens();
    assert.match(tokens?.access_token ?? '', /^mcp_at_/);
    assert.match(tokens?.refresh_token ?? '', /^mcp_rt_/);
    assert.equal(tokens?.scope, 'tools:read tools:write');

    // Two different upstream logins became two different users, each with their connection.
    const { rows } = await f.app.pool.query<{ account_id: string; user_id: string }>(
      'SELECT account_id, user_id FROM connections ORDER BY account_id',
    );
    assert.deepEqual(rows.map((r) => r.account_id), ['alice', 'bob']);
    assert.notEqual(rows[0]?.user_id, rows[1]?.user_id);
  });

  it('signing in again with the same upstream account is the same user, and a recognised browser skips consent', async () => {
    const browser = new TestBrowser(f.app.url, 'carol');
    const first = new TestOAuthProvider(browser);
    clients.push(await connectWithOAuth(f.app.url, first));
    const second = new TestOAuthProvider(browser);
    const client = await connectWithOAuth(f.app.url, second);
    clients.push(client);
    assert.deepEqual(await whoami(client), { id: 'carol', login: 'carol' });
    const { rows } = await f.app.pool.query("SELECT DISTINCT user_id FROM connections WHERE account_id = 'carol'");
    assert.equal(rows.length, 1, 'one user for one upstream account');

    // Same browser, same client again: back with a code straight from /oauth/authorize.
    const again = await browser.get((second.authorizationUrls[0] as URL));
    assert.equal(again.status, 303);
    assert.match(again.headers.get('location') ?? '', /^http:\/\/127\.0\.0\.1:9\/callback\?code=mcp_ac_/);
    // prompt=consent shows the page anyway, offering to continue as the signed-in user.
    const forced = new URL((second.authorizationUrls[0] as URL).href);
    forced.searchParams.set('prompt', 'consent');
    const page = await browser.get(forced);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Allow as carol/);
  });

  it('a pre-registered confidential client authenticates with its secret', async () => {
    const { client, clientSecret } = await registerClient(
      f.app.pool,
      parseClientMetadata({ client_name: 'Operator client', redirect_uris: ['https://client.example/callback'] }),
      'operator',
    );
    assert.ok(clientSecret);
    const provider = new TestOAuthProvider(new TestBrowser(f.app.url, 'dora'), {
      redirectUrl: 'https://client.example/callback',
      client: { client_id: client.clientId, client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic' },
    });
    const mcp = await connectWithOAuth(f.app.url, provider);
    clients.push(mcp);
    remember(provider);
    assert.deepEqual(await whoami(mcp), { id: 'dora', login: 'dora' });
    assert.equal((provider.authorizationUrls[0] as URL).searchParams.get('client_id'), client.clientId);
  });

  it('a client identified by its metadata document URL (CIMD) over HTTPS', async () => {
    const clientId = `${documentsUrl}/oauth/client.json`;
    const before = documentFetches;
    const provider = new TestOAuthProvider(new TestBrowser(f.app.url, 'erin'), {
      redirectUrl: 'http://127.0.0.1:7/callback',
      clientMetadataUrl: clientId,
    });
    const mcp = await connectWithOAuth(f.app.url, provider);
    clients.push(mcp);
    assert.deepEqual(await whoami(mcp), { id: 'erin', login: 'erin' });
    assert.equal((provider.authorizationUrls[0] as URL).searchParams.get('client_id'), clientId);
    assert.equal(documentFetches - before, 1, 'fetched once, then served from cache');
    const { rowCount } = await f.app.pool.query('SELECT 1 FROM oauth_clients WHERE client_id = $1', [clientId]);
    assert.equal(rowCount, 0, 'metadata-document clients are not stored');
  });

  it('a user with an API key links the new client to their existing account', async () => {
    const { userId, apiKey } = await register(f.app, 'frank');
    const provider = new TestOAuthProvider(new TestBrowser(f.app.url, 'frank-upstream'), { choice: { decision: 'allow_key', apiKey } });
    const mcp = await connectWithOAuth(f.app.url, provider);
    clients.push(mcp);
    // No connection yet, so the key path went through the upstream and connected it to this user.
    assert.deepEqual(await whoami(mcp), { id: 'frank-upstream', login: 'frank-upstream' });
    const status = await fetch(`${f.app.url}/api/connect/acme/status`, { headers: bearer(apiKey) });
    assert.equal(((await status.json()) as { account_id: string }).account_id, 'frank-upstream');
    const { rows } = await f.app.pool.query('SELECT user_id FROM oauth_grants WHERE client_id = $1', [provider.clientInformation()?.client_id]);
    assert.deepEqual(rows, [{ user_id: userId }]);
  });

  it('no log line contains a code, token or client secret', () => {
    assert.ok(secrets.length >= 9, `collected ${secrets.length} secrets`);
    const logs = f.app.logs.join('');
    assert.match(logs, /OAuth client registered/);
    for (const secret of secrets) assert.ok(!logs.includes(secret), 'a secret reached the logs');
  });
});
