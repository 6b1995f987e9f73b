import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectionStatus, registerAndConnect, startAppWithUpstream, upstreamProvider } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

const API_TIMEOUT_MS = 500;

describe('every upstream API request is bounded in time', () => {
  let f: Fixture;
  let client: Client;
  let apiKey: string;
  before(async () => {
    f = await startAppWithUpstream({
      limits: { apiTimeoutMs: API_TIMEOUT_MS },
      provider: (upstream) => ({
        tools: [
          ...(upstreamProvider(upstream).tools as unknown[]),
          { name: 'slow', description: 'Answers after ms milliseconds', method: 'GET', path: '/slow', params: { ms: { type: 'integer', in: 'query', required: true } } },
          { name: 'trickle', description: 'Sends its body over ms milliseconds', method: 'GET', path: '/trickle', params: { ms: { type: 'integer', in: 'query', required: true } } },
        ],
      }),
    });
    ({ apiKey } = await registerAndConnect(f.app, 'alice'));
    client = await connectMcp(f.app.url, apiKey);
  });
  after(async () => {
    await client.close();
    await f.close();
  });

  /** Calls `tool` on an upstream that would take 10 s: the call must fail at the timeout. */
  async function assertCutOffAtTimeout(tool: string): Promise<void> {
    const started = Date.now();
    const result = await client.callTool({ name: tool, arguments: { ms: 10_000 } });
    const elapsed = Date.now() - started;
    assert.equal(result.isError, true);
    assert.equal(textOf(result), 'Acme did not answer within 0.5 s. Try again later.');
    // Slack for a busy machine, far short of the upstream's 10 s.
    assert.ok(elapsed >= API_TIMEOUT_MS && elapsed < API_TIMEOUT_MS + 3_000, `took ${elapsed} ms`);
  }

  it('an upstream slower than the timeout ends the call with an error at the timeout, not when the upstream answers', async () => {
    await assertCutOffAtTimeout('slow');
    assert.equal(f.upstream.apiRequests.at(-1)?.path, '/api/slow?ms=10000', 'the request did go out');
    assert.equal((await connectionStatus(f.app, apiKey)).connected, true, 'a slow API says nothing about the connection');
  });

  it('the timeout bounds reading the body too: an upstream that answers at once but trickles its body is cut off', async () => {
    await assertCutOffAtTimeout('trickle');
  });

  it('a body trickled within the timeout arrives whole', async () => {
    const result = await client.callTool({ name: 'trickle', arguments: { ms: 200 } });
    assert.equal(result.isError, undefined, textOf(result));
    assert.deepEqual(JSON.parse(textOf(result)), { trickled: true });
  });

  it('an upstream answering within the timeout is unaffected', async () => {
    const result = await client.callTool({ name: 'slow', arguments: { ms: 100 } });
    assert.equal(result.isError, undefined, textOf(result));
    assert.deepEqual(JSON.parse(textOf(result)), { waitedMs: 100, owner: 'alice' });
  });
});
