import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Pool } from '../../src/db/pool.js';
import { registerAndConnect, startAppWithUpstream } from '../support/app.js';
import { connectMcp, textOf } from '../support/mcp-client.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

/** Records every statement and every checked-out client the app's pool serves. */
function recordDatabaseUse(pool: Pool): { statements: string[]; connects: number; stop(): void } {
  const query = pool.query.bind(pool);
  const connect = pool.connect.bind(pool);
  const record = {
    statements: [] as string[],
    connects: 0,
    stop() {
      pool.query = query;
      pool.connect = connect;
    },
  };
  // pool.query checks a client out through this.connect() synchronously; only other checkouts
  // (transactions) count as connects.
  let insideQuery = false;
  pool.query = ((...args: unknown[]) => {
    record.statements.push(String(typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text).replace(/\s+/g, ' ').slice(0, 300));
    insideQuery = true;
    try {
      return (query as (...a: unknown[]) => unknown)(...args);
    } finally {
      insideQuery = false;
    }
  }) as Pool['query'];
  pool.connect = ((...args: unknown[]) => {
    if (!insideQuery) record.connects += 1;
    return (connect as (...a: unknown[]) => unknown)(...args);
  }) as Pool['connect'];
  return record;
}

/**
 * The performance contract: a warm, authenticated tool call costs at most one database round
 * trip in total (reading the user's connection). Key checks, rate limits and last_used_at stay
 * in memory; the background usage sync and the tool-call counts' flush are made very slow here
 * so they cannot blur the count (on a loaded machine a 100 ms flush lands inside the window).
 */
describe('the hot path', () => {
  let f: Fixture;
  let mcp: Client;
  before(async () => {
    f = await startAppWithUpstream({ limits: { syncIntervalMs: 3_600_000 }, usageFlushMs: 3_600_000 });
    mcp = await connectMcp(f.app.url, (await registerAndConnect(f.app, 'fast')).apiKey);
    // Warm: the key is proven and its status cached.
    await mcp.callTool({ name: 'whoami', arguments: {} });
  });
  after(async () => {
    await mcp.close();
    await f.close();
  });

  it('a warm tools/call is exactly one database round trip (the connection read)', async () => {
    const use = recordDatabaseUse(f.app.pool);
    try {
      const result = await mcp.callTool({ name: 'whoami', arguments: {} });
      assert.equal(JSON.parse(textOf(result)).id, 'fast');
    } finally {
      use.stop();
    }
    assert.equal(use.connects, 0, 'no transaction');
    assert.equal(use.statements.length, 1, use.statements.join('\n'));
    assert.match(use.statements[0] ?? '', /FROM connections/);
  });

  it('a warm tools/list touches the database not at all', async () => {
    const use = recordDatabaseUse(f.app.pool);
    try {
      assert.ok((await mcp.listTools()).tools.length > 0);
    } finally {
      use.stop();
    }
    assert.deepEqual(use.statements, []);
    assert.equal(use.connects, 0);
  });
});
