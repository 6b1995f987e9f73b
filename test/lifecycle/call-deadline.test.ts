import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectionStatus, register, registerAndConnect, startApp, startAppWithUpstream, tokenExpiry, upstreamProvider, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { sleepUntil } from '../support/time.js';
import { startMcpUpstream, type McpUpstream } from '../remote-mcp/support/mcp-upstream.js';

/**
 * Issue 18 item 9: one deadline bounds the whole tool call — refresh slot, row lock, token
 * requests and their retries, the upstream request — not each step on its own. The test limits
 * are the production ones scaled down: every step alone fits the call's budget, their sum does not.
 */
const CALL_TIMEOUT_MS = 1_500;
const TOKEN_TIMEOUT_MS = 1_000;
/** Without the deadline: three attempts of 1 s plus backoff, ~3.3 s, against a 1.5 s budget. */
const RETRY_DELAYS_MS = [100, 200];

describe('a tool call ends at its deadline whatever the upstream does', () => {
  let f: Awaited<ReturnType<typeof startAppWithUpstream>>;
  before(async () => {
    f = await startAppWithUpstream({
      accessTokenTtl: 2,
      limits: { callTimeoutMs: CALL_TIMEOUT_MS, tokenTimeoutMs: TOKEN_TIMEOUT_MS, refreshRetryDelaysMs: RETRY_DELAYS_MS, apiTimeoutMs: 10_000 },
      provider: (upstream) => ({
        tools: [
          ...(upstreamProvider(upstream).tools as unknown[]),
          { name: 'slow', description: 'Answers after ms', method: 'GET', path: '/slow', params: { ms: { type: 'integer', in: 'query', required: true } } },
        ],
      }),
    });
  });
  after(() => f.close());

  it('a hung token endpoint: the call is answered at the deadline, naming the upstream, with fewer attempts than the retry policy alone allows', async (t) => {
    const { apiKey } = await registerAndConnect(f.app, 'hana');
    const client = await connectMcp(f.app.url, apiKey);
    t.after(() => client.close());
    await sleepUntil((await tokenExpiry(f.app, apiKey)).getTime() + 50);
    f.upstream.setTokenEndpointHanging(true);
    t.after(() => f.upstream.setTokenEndpointHanging(false));
    const attemptsBefore = f.upstream.tokenCalls.refresh_token;

    const started = Date.now();
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    const elapsed = Date.now() - started;
    t.diagnostic(`hung token endpoint: answered after ${elapsed} ms (budget ${CALL_TIMEOUT_MS} ms, token timeout ${TOKEN_TIMEOUT_MS} ms)`);

    assert.equal(result.isError, true);
    assert.match(
      textOf(result),
      /^The call to Acme was stopped after 1\.5 s, the limit for one tool call: refreshing your Acme access did not finish in time .*Your connection is kept\. Try again later\.$/,
    );
    const attempts = f.upstream.tokenCalls.refresh_token - attemptsBefore;
    assert.ok(attempts >= 1 && attempts < 1 + RETRY_DELAYS_MS.length, `${attempts} refresh attempts: the deadline, not the retry policy, ended the call`);
    const status = await connectionStatus(f.app, apiKey);
    assert.equal(status.connected, true);
    assert.equal(status.needs_reauthorization, false);

    f.upstream.setTokenEndpointHanging(false);
    const recovered = await client.callTool({ name: 'whoami', arguments: {} });
    assert.equal(recovered.isError, undefined, textOf(recovered));
    assert.deepEqual(JSON.parse(textOf(recovered)), { id: 'hana', login: 'hana' });
  });

  it('an upstream API slower than the budget: stopped at the deadline although its own timeout is longer', async (t) => {
    const { apiKey } = await registerAndConnect(f.app, 'ivo');
    const client = await connectMcp(f.app.url, apiKey);
    t.after(() => client.close());
    const started = Date.now();
    const result = await client.callTool({ name: 'slow', arguments: { ms: 8_000 } });
    t.diagnostic(`upstream answering after 8 s (API timeout 10 s): answered after ${Date.now() - started} ms`);
    assert.equal(result.isError, true);
    assert.equal(textOf(result), 'The call to Acme was stopped after 1.5 s, the limit for one tool call: Acme did not answer in time. Try again later.');
    // Within the budget, the same tool works.
    const quick = await client.callTool({ name: 'slow', arguments: { ms: 10 } });
    assert.equal(quick.isError, undefined, textOf(quick));
    assert.equal(JSON.parse(textOf(quick)).owner, 'ivo');
  });
});

describe('a remote MCP tool call ends at its deadline too', () => {
  let db: TestDatabase;
  let app: TestApp;
  let mcp: McpUpstream;
  before(async () => {
    db = await createTestDatabase();
    mcp = await startMcpUpstream({ verify: () => 'anyone', hangingTool: true });
    app = await startApp({
      databaseUrl: db.url,
      limits: { callTimeoutMs: CALL_TIMEOUT_MS, apiTimeoutMs: 10_000 },
      providers: [{ id: 'open', name: 'Open', auth: 'none', mcp_url: mcp.url, tool_prefix: 'open_' }],
    });
  });
  after(async () => {
    await app.close();
    await mcp.close();
    await db.drop();
  });

  it('a remote tool that never answers: an isError result naming the upstream at the deadline', async (t) => {
    const { apiKey } = await register(app, 'jo');
    const client = await connectMcp(app.url, apiKey);
    t.after(() => client.close());
    const started = Date.now();
    const result = await client.callTool({ name: 'open_hang', arguments: {} });
    t.diagnostic(`remote tool that never answers: answered after ${Date.now() - started} ms`);
    assert.equal(mcp.hanging, 1, 'the call reached the upstream');
    assert.equal(result.isError, true);
    assert.equal(textOf(result), 'The call to Open was stopped after 1.5 s, the limit for one tool call: Open did not answer in time. Try again later.');
    const fine = await client.callTool({ name: 'open_whoami', arguments: {} });
    assert.equal(fine.isError, undefined, textOf(fine));
  });
});
