import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { bearer, connectionStatus, registerAndConnect, startAppWithUpstream } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

/** A URL on a port nothing listens on: connections are refused at once. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/oauth/revoke`;
}

describe('disconnecting when the upstream cannot confirm revocation', () => {
  for (const what of ['is unreachable', 'answers with an error'] as const) {
    it(`revocation endpoint ${what}: local tokens are deleted anyway, and the response says revocation was not confirmed`, async (t) => {
      const unreachable = what === 'is unreachable' ? await closedPortUrl() : undefined;
      // The REST API refuses a form-encoded revocation request (no bearer token) with an error status.
      const f = await startAppWithUpstream({ provider: (upstream) => ({ revocation_url: unreachable ?? `${upstream.apiBaseUrl}/status/500` }) });
      t.after(() => f.close());
      const { apiKey, userId } = await registerAndConnect(f.app, 'alice');

      const res = await fetch(`${f.app.url}/api/connect/acme`, { method: 'DELETE', headers: bearer(apiKey) });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { message: string; revoked_upstream: boolean | null };
      assert.equal(body.revoked_upstream, false);
      assert.match(body.message, /deleted here, but revocation at the provider could not be confirmed/);
      assert.equal(f.upstream.revocations, 0);

      const { rows } = await f.app.pool.query('SELECT count(*)::int AS n FROM connections WHERE user_id = $1', [userId]);
      assert.deepEqual(rows, [{ n: 0 }], 'no tokens are kept');
      const status = await connectionStatus(f.app, apiKey);
      assert.equal(status.connected, false);
      assert.equal(status.needs_reauthorization, false);
      const client = await connectMcp(f.app.url, apiKey);
      t.after(() => client.close());
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(result.isError, true);
      assert.match(textOf(result), /You have not connected Acme yet\. Open http:\/\/127\.0\.0\.1:\d+\/dashboard#connections in your browser and connect it there\. From a script: GET http:\/\/127\.0\.0\.1:\d+\/api\/connect\/acme\/start/);
    });
  }
});
