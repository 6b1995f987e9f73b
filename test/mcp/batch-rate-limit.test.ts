import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKey, roomInCurrentMinute, waitUntil } from '../support/api-client.js';
import { registerAndConnect, startAppWithUpstream } from '../support/app.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

/** A JSON-RPC batch of `n` whoami tool calls. */
const batchOf = (n: number, from = 1) => Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: from + i, method: 'tools/call', params: { name: 'whoami', arguments: {} } }));

describe('a JSON-RPC batch counts every message against the key’s rate limit', () => {
  let f: Fixture;
  let limited: string;
  let userId: string;
  before(async () => {
    f = await startAppWithUpstream();
    const user = await registerAndConnect(f.app, 'batcher');
    userId = user.userId;
    limited = (await createKey(f.app.url, user.apiKey, { rate_limit: { per_minute: 5 } })).api_key;
  });
  after(() => f.close());

  const post = async (message: unknown) => {
    const res = await fetch(`${f.app.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${limited}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(message),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
  };
  /** Tool calls recorded for the user so far (the usage recorder flushes every 100 ms here). */
  const callsRun = async () =>
    Number((await f.app.pool.query<{ n: string }>('SELECT coalesce(sum(ok + error), 0) AS n FROM tool_usage WHERE user_id = $1', [userId])).rows[0]?.n);

  it('a key allowed 5 requests a minute runs 5 tool calls, not 500; a batch over the budget is refused whole', async () => {
    await roomInCurrentMinute(8);
    const big = await post(batchOf(100));
    assert.equal(big.status, 429);
    assert.deepEqual(Object.keys(big.body as object).sort(), ['error', 'error_description']);
    const error = big.body as { error: string; error_description: string };
    assert.equal(error.error, 'rate_limited');
    assert.match(error.error_description, /100 messages/);
    assert.match(error.error_description, /5 left of its limit of 5 requests per minute/);
    assert.ok(Number(big.headers.get('retry-after')) >= 1);
    assert.equal(big.headers.get('ratelimit-remaining'), '5', 'a refused batch takes nothing from the budget');

    const three = await post(batchOf(3));
    assert.equal(three.status, 200);
    const answers = three.body as Array<{ id: number; result: { isError?: boolean } }>;
    assert.deepEqual(answers.map((a) => a.id).sort(), [1, 2, 3]);
    for (const a of answers) assert.equal(a.result.isError, undefined);
    assert.equal(three.headers.get('ratelimit-remaining'), '2');

    const tooMany = await post(batchOf(3, 10));
    assert.equal(tooMany.status, 429, 'three messages do not fit in the two left');
    assert.equal(tooMany.headers.get('ratelimit-remaining'), '2');

    const two = await post(batchOf(2, 20));
    assert.equal(two.status, 200);
    assert.equal(two.headers.get('ratelimit-remaining'), '0');
    const single = await post(batchOf(1, 30)[0]);
    assert.equal(single.status, 429);
    assert.match((single.body as { error_description: string }).error_description, /over its limit of 5 requests per minute/);

    await waitUntil(async () => (await callsRun()) === 5, 5_000);
    assert.equal(await callsRun(), 5, 'exactly the five admitted calls reached the upstream');
  });
});
