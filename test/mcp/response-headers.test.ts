import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerAndConnect, startAppWithUpstream } from '../support/app.js';
import { roomInCurrentMinute } from '../support/api-client.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

const PER_MINUTE = 6;

/**
 * POST /mcp is served ahead of express, on three paths: the fast path (tools/call, tools/list,
 * ping), the SDK (everything else) and refusals. Each must carry the same hardening headers as
 * the rest of the app and the key's rate-limit headers, and the fast path frames its body with
 * an exact Content-Length.
 */
describe('POST /mcp response headers', () => {
  let f: Fixture;
  let apiKey: string;
  before(async () => {
    f = await startAppWithUpstream({ limits: { keyPerMinute: PER_MINUTE, keyPerHour: 1000 } });
    await roomInCurrentMinute(20);
    ({ apiKey } = await registerAndConnect(f.app, 'hedy'));
  });
  after(async () => {
    await f.close();
  });

  const post = (message: unknown, key = apiKey): Promise<Response> =>
    fetch(`${f.app.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(message),
    });

  function assertHardened(res: Response): void {
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=/);
  }

  it('a tools/call (fast path): hardening and rate-limit headers, an exact Content-Length and no chunking', async () => {
    const res = await post({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(body)));
    assert.equal(res.headers.get('transfer-encoding'), null);
    assertHardened(res);
    assert.equal(res.headers.get('ratelimit-limit'), String(PER_MINUTE));
    assert.equal(res.headers.get('ratelimit-policy'), `${PER_MINUTE};w=60, 1000;w=3600`);
    const parsed = JSON.parse(body) as { id: number; result: { content: Array<{ text: string }> } };
    assert.equal(parsed.id, 7);
    assert.equal(JSON.parse(parsed.result.content[0]?.text ?? '{}').login, 'hedy');
  });

  it('an initialize (answered by the SDK) carries the same headers', async () => {
    const res = await post({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'headers-test', version: '1' } },
    });
    assert.equal(res.status, 200);
    await res.text();
    assertHardened(res);
    assert.equal(res.headers.get('ratelimit-limit'), String(PER_MINUTE));
  });

  it('a request over the key limit: 429 with Retry-After, RateLimit-Remaining 0 and the hardening headers', async () => {
    let res: Response | undefined;
    for (let i = 0; i < PER_MINUTE + 1; i++) {
      res = await post({ jsonrpc: '2.0', id: i, method: 'ping' });
      if (res.status === 429) break;
      await res.text();
    }
    assert.ok(res);
    assert.equal(res.status, 429);
    const body = (await res.json()) as { error: string };
    assert.equal(body.error, 'rate_limited');
    assert.equal(res.headers.get('ratelimit-remaining'), '0');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assertHardened(res);
  });
});
