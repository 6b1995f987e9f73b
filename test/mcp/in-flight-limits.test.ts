import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { bearer, register, registerAndConnect, startApp, startAppWithUpstream, upstreamProvider, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { callApi } from '../support/json-api.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { eventually } from '../support/time.js';
import { startMcpUpstream, type McpUpstream } from '../remote-mcp/support/mcp-upstream.js';

/**
 * Issue 18 item 2: the outbound pool is 128 sockets per upstream origin, shared by everyone. One
 * user sending 200 calls to an endpoint that hangs used to take all of them, and another user's
 * call to the same upstream waited behind them. Now a user has at most 16 calls in flight per
 * upstream and a key 8; the excess is answered at once, and nobody else is held up.
 */
const PER_USER = 16;
const PER_KEY = 8;
/** Long enough that A's admitted calls still hang while B is served; they end at this deadline. */
const CALL_TIMEOUT_MS = 8_000;
const LIMIT_TEXT = /^Too many calls at once: (your account|this API key) has (16|8) requests to (Acme|Open) still waiting for an answer, the most allowed\. This one was not sent to \3; try again when some of them have finished\.$/;

type RpcAnswer = { id: number; result?: { content: Array<{ text: string }>; isError?: boolean }; error?: unknown };

/** One JSON-RPC batch of `tools/call`s, sent as a raw POST (the SDK client sends no batches). */
async function sendBatch(url: string, apiKey: string, calls: Array<{ name: string; arguments: Record<string, unknown> }>, firstId: number): Promise<RpcAnswer[]> {
  const res = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { ...bearer(apiKey), accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION },
    body: JSON.stringify(calls.map((params, i) => ({ jsonrpc: '2.0', id: firstId + i, method: 'tools/call', params }))),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as RpcAnswer[];
}

function resultText(answer: RpcAnswer): string {
  assert.equal(answer.error, undefined, JSON.stringify(answer));
  return answer.result?.content.map((c) => c.text).join('') ?? '';
}

async function newKey(url: string, apiKey: string, name: string): Promise<string> {
  const created = await callApi(url, 'POST', '/api/keys', { key: apiKey, body: { name } });
  assert.equal(created.status, 201, created.text);
  return created.body.api_key as string;
}

/** B's call while A's hang: it must succeed with B's own account. Returns how long it took (logged, not asserted). */
async function servedPromptly(t: TestContext, url: string, apiKey: string, tool: string, check: (text: string) => void): Promise<void> {
  const client = await connectMcp(url, apiKey);
  t.after(() => client.close());
  const started = Date.now();
  const result = await client.callTool({ name: tool, arguments: {} });
  t.diagnostic(`the other user's ${tool} call while the first user's calls hang: ${Date.now() - started} ms`);
  assert.equal(result.isError, undefined, textOf(result));
  check(textOf(result));
}

describe('one user with 200 hanging calls does not hold up another user of the same upstream (REST tools)', () => {
  let f: Awaited<ReturnType<typeof startAppWithUpstream>>;
  before(async () => {
    f = await startAppWithUpstream({
      limits: { callTimeoutMs: CALL_TIMEOUT_MS, apiTimeoutMs: CALL_TIMEOUT_MS, keyPerMinute: 10_000, toolCallsInFlightPerUser: PER_USER, toolCallsInFlightPerKey: PER_KEY },
      provider: (upstream) => ({
        tools: [
          ...(upstreamProvider(upstream).tools as unknown[]),
          { name: 'slow', description: 'Answers after ms', method: 'GET', path: '/slow', params: { ms: { type: 'integer', in: 'query', required: true } } },
        ],
      }),
    });
  });
  after(() => f.close());

  it('the excess of A is refused at once with a clear result; B is answered correctly meanwhile', async (t) => {
    const alice = await registerAndConnect(f.app, 'alice');
    const bob = await registerAndConnect(f.app, 'bob');
    const secondKey = await newKey(f.app.url, alice.apiKey, 'second');
    const thirdKey = await newKey(f.app.url, alice.apiKey, 'third');
    const hanging = Array.from({ length: 100 }, () => ({ name: 'slow', arguments: { ms: 25_000 } }));
    const slowSeen = (): number => f.upstream.apiRequests.filter((r) => r.path.startsWith('/api/slow')).length;

    // Two batches of 100 from two of A's keys, not awaited: they end only at the call deadline.
    const batches = Promise.all([sendBatch(f.app.url, alice.apiKey, hanging, 1), sendBatch(f.app.url, secondKey, hanging, 1_001)]);
    await eventually(() => slowSeen() >= PER_USER, 10_000);

    await servedPromptly(t, f.app.url, bob.apiKey, 'whoami', (text) => assert.deepEqual(JSON.parse(text), { id: 'bob', login: 'bob' }));
    // A third key of A's finds the user's cap full.
    const third = await connectMcp(f.app.url, thirdKey);
    t.after(() => third.close());
    const refused = await third.callTool({ name: 'slow', arguments: { ms: 10 } });
    assert.equal(refused.isError, true);
    assert.equal(textOf(refused), 'Too many calls at once: your account has 16 requests to Acme still waiting for an answer, the most allowed. This one was not sent to Acme; try again when some of them have finished.');

    const answers = (await batches).flat();
    assert.equal(answers.length, 200);
    const texts = answers.map(resultText);
    const limited = texts.filter((text) => LIMIT_TEXT.test(text));
    const stopped = texts.filter((text) => text.startsWith('The call to Acme was stopped after 8 s'));
    t.diagnostic(`A's 200 calls: ${limited.length} refused at once, ${stopped.length} sent upstream (ended at the deadline)`);
    assert.equal(stopped.length, PER_USER, 'two keys of 8 each: the user cap of 16 is reached');
    assert.equal(limited.length, 200 - PER_USER);
    assert.ok(limited.some((text) => text.includes('this API key has 8')) && limited.some((text) => text.includes('your account has 16')), 'both caps answered');
    assert.equal(slowSeen(), PER_USER, 'nothing refused reached the upstream');

    // Once A's calls have ended, A is served again.
    const after = await connectMcp(f.app.url, alice.apiKey);
    t.after(() => after.close());
    const again = await after.callTool({ name: 'slow', arguments: { ms: 10 } });
    assert.equal(again.isError, undefined, textOf(again));
  });

});

describe('the same holds for remote MCP tools, and for key checks over the HTTP API', () => {
  let db: TestDatabase;
  let app: TestApp;
  let mcp: McpUpstream;
  /** An API that accepts connections and never answers, for key checks. */
  const wedged = createServer(() => undefined);
  before(async () => {
    db = await createTestDatabase();
    mcp = await startMcpUpstream({ verify: () => 'anyone', hangingTool: true });
    await new Promise<void>((resolve) => wedged.listen(0, '127.0.0.1', resolve));
    app = await startApp({
      databaseUrl: db.url,
      limits: { callTimeoutMs: CALL_TIMEOUT_MS, apiTimeoutMs: CALL_TIMEOUT_MS, keyPerMinute: 10_000, toolCallsInFlightPerUser: PER_USER, toolCallsInFlightPerKey: PER_KEY },
      providers: [
        { id: 'open', name: 'Open', auth: 'none', mcp_url: mcp.url, tool_prefix: 'open_' },
        {
          id: 'wedged', name: 'Wedged', auth: 'api_key', api_key: { header: 'Authorization', template: 'Bearer {key}' }, validate: { method: 'GET', path: '/me' },
          api_base_url: `http://127.0.0.1:${(wedged.address() as AddressInfo).port}/v1`,
          tools: [{ name: 'wedged_me', description: 'Never answers', method: 'GET', path: '/me' }],
        },
      ],
    });
  });
  after(async () => {
    await app.close();
    await mcp.close();
    wedged.closeAllConnections();
    await new Promise((resolve) => wedged.close(resolve));
    await db.drop();
  });

  it('A: 8 hanging remote calls in flight, the rest refused at once; B is answered', async (t) => {
    const alice = await register(app, 'alice');
    const bob = await register(app, 'bob');
    const batch = sendBatch(app.url, alice.apiKey, Array.from({ length: 60 }, () => ({ name: 'open_hang', arguments: {} })), 1);
    await eventually(() => mcp.hanging >= PER_KEY, 10_000);

    await servedPromptly(t, app.url, bob.apiKey, 'open_whoami', (text) => assert.equal(text, 'anyone'));
    // A's list still shows the tools: over the cap nothing is sent, and the list from the calls is kept.
    const aliceClient = await connectMcp(app.url, alice.apiKey);
    t.after(() => aliceClient.close());
    const listed = (await aliceClient.listTools()).tools.map((tool) => tool.name);
    assert.ok(listed.includes('open_whoami') && listed.includes('open_hang'), listed.join(', '));

    const texts = (await batch).map(resultText);
    const limited = texts.filter((text) => LIMIT_TEXT.test(text));
    t.diagnostic(`A's 60 remote calls: ${limited.length} refused at once, ${texts.length - limited.length} sent upstream`);
    assert.equal(limited.length, 60 - PER_KEY);
    assert.ok(limited.every((text) => text.includes('this API key has 8 requests to Open')));
    assert.equal(mcp.hanging, PER_KEY);
  });

  it('PUT /api/connect/:provider/key checks the key upstream: over the cap it answers 429 at once', async () => {
    const carol = await register(app, 'carol');
    const put = (): Promise<Awaited<ReturnType<typeof callApi>>> => callApi(app.url, 'PUT', '/api/connect/wedged/key', { key: carol.apiKey, body: { api_key: 'wedged-key-123456' } });
    const checks = Array.from({ length: PER_KEY }, put);
    await eventually(async () => (await connectionsTo(wedged)) >= PER_KEY, 5_000);
    const refused = await put();
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.body.error, 'rate_limited');
    assert.match(String(refused.body.error_description), /^Too many calls at once: this API key has 8 requests to Wedged still waiting for an answer/);
    // Ending the hanging checks (the upstream drops them) frees the places: nothing was stored.
    wedged.closeAllConnections();
    for (const check of await Promise.all(checks)) assert.equal(check.status, 502, check.text);
  });
});

function connectionsTo(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}
