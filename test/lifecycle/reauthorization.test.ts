import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectAccount, connectionStatus, registerAndConnect, startAppWithUpstream, tokenExpiry } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { sleepUntil } from '../support/time.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

describe('access revoked at the upstream', () => {
  let f: Fixture;
  let reconnectUrl: RegExp;
  before(async () => {
    f = await startAppWithUpstream({ accessTokenTtl: 2 });
    reconnectUrl = new RegExp(`needs to be re-authorized\\. Open ${f.app.url}/dashboard#connections in your browser and connect it there\\. From a script: GET ${f.app.url}/api/connect/acme/start`);
  });
  after(() => f.close());

  it('status says re-authorization is needed, tool calls say how to reconnect, and reconnecting restores service', async (t) => {
    const { apiKey } = await registerAndConnect(f.app, 'alice');
    const alice = await connectMcp(f.app.url, apiKey);
    t.after(() => alice.close());
    assert.equal((await alice.callTool({ name: 'whoami', arguments: {} })).isError, undefined);

    await f.upstream.revokeGrantsFor('alice'); // the user removes the app in their upstream account
    const refreshesBefore = f.upstream.tokenCalls.refresh_token;
    const refused = await alice.callTool({ name: 'whoami', arguments: {} });
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), reconnectUrl);
    assert.equal(f.upstream.tokenCalls.refresh_token - refreshesBefore, 1, 'one refresh attempt, answered invalid_grant');

    const status = await connectionStatus(f.app, apiKey);
    assert.equal(status.connected, false);
    assert.equal(status.needs_reauthorization, true);
    assert.equal(status.account_id, 'alice');

    // A dead grant is not retried: later calls answer at once without bothering the upstream.
    const apiBefore = f.upstream.apiRequests.length;
    const again = await alice.callTool({ name: 'get_item', arguments: { id: '1' } });
    assert.match(textOf(again), reconnectUrl);
    assert.equal(f.upstream.tokenCalls.refresh_token - refreshesBefore, 1);
    assert.equal(f.upstream.apiRequests.length, apiBefore);

    await connectAccount(f.app, apiKey, 'alice');
    const restored = await connectionStatus(f.app, apiKey);
    assert.equal(restored.connected, true);
    assert.equal(restored.needs_reauthorization, false);
    const works = await alice.callTool({ name: 'whoami', arguments: {} });
    assert.equal(works.isError, undefined, textOf(works));
    assert.deepEqual(JSON.parse(textOf(works)), { id: 'alice', login: 'alice' });
  });

  it('is noticed by the refresh before a call, so nothing is sent upstream with the dead token', async (t) => {
    const { apiKey } = await registerAndConnect(f.app, 'bob');
    const bob = await connectMcp(f.app.url, apiKey);
    t.after(() => bob.close());
    await f.upstream.revokeGrantsFor('bob');
    await sleepUntil((await tokenExpiry(f.app, apiKey)).getTime() + 50);

    const apiBefore = f.upstream.apiRequests.length;
    const result = await bob.callTool({ name: 'whoami', arguments: {} });
    assert.equal(result.isError, true);
    assert.match(textOf(result), reconnectUrl);
    assert.equal(f.upstream.apiRequests.length, apiBefore);
    assert.equal((await connectionStatus(f.app, apiKey)).needs_reauthorization, true);
  });
});
