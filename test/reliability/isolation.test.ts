import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { registerAndConnect, startAppWithUpstream, upstreamProvider } from '../support/app.js';
import { callApi } from '../support/json-api.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { spawnApp, type AppProcess } from '../support/spawn-app.js';
import { startMcpUpstream, type McpUpstream } from '../remote-mcp/support/mcp-upstream.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

const USERS = ['ida', 'jon', 'kim'] as const;
const CALLS = 500;
/** Calls in flight at once, overall: well under every per-key and per-user limit, so each answer is a real result. */
const IN_FLIGHT = 12;

/**
 * Isolation under load (issue 15): 500 interleaved concurrent tool calls of three users over two
 * server processes on one database, half to a REST upstream (OAuth tokens) and half to a remote
 * MCP server (per-user keys, upstream sessions per connection). Every result must belong to the
 * user who asked: 0 cross-user results is the figure.
 */
describe('isolation under load: three users, two processes, two kinds of upstream', () => {
  const encryptionKey = randomBytes(32);
  let f: Fixture;
  let notes: McpUpstream;
  let processes: AppProcess[] = [];
  const clients: Client[] = [];
  /** Each user's key at the MCP upstream; it sees them as `Bearer <key>`. */
  const upstreamKeys: Record<string, string> = Object.fromEntries(USERS.map((u) => [`mk_${u}_${randomBytes(6).toString('hex')}`, u]));

  before(async () => {
    notes = await startMcpUpstream({ verify: (auth) => (auth?.startsWith('Bearer ') ? upstreamKeys[auth.slice(7)] : undefined) });
    f = await startAppWithUpstream({ encryptionKey });
    const providers = [
      upstreamProvider(f.upstream),
      { id: 'notes', name: 'Notes', auth: 'api_key', mcp_url: notes.url, api_key: { header: 'Authorization', template: 'Bearer {key}' } },
    ];
    const config = { databaseUrl: f.db.url, encryptionKey: encryptionKey.toString('base64'), providers };
    processes = await Promise.all([spawnApp(config), spawnApp(config)]);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(processes.map((p) => p.stop()));
    await f.close();
    await notes.close();
  });

  it(`${CALLS} calls: every result is the caller's own, on either process, from either upstream`, async () => {
    const [a, b] = processes as [AppProcess, AppProcess];
    const sessions: Array<{ user: string; viaA: Client; viaB: Client }> = [];
    for (const user of USERS) {
      const { apiKey } = await registerAndConnect(f.app, user);
      const key = Object.entries(upstreamKeys).find(([, u]) => u === user)?.[0] as string;
      const set = await callApi(a.url, 'PUT', '/api/connect/notes/key', { key: apiKey, body: { api_key: key } });
      assert.equal(set.status, 200, set.text);
      const viaA = await connectMcp(a.url, apiKey);
      const viaB = await connectMcp(b.url, apiKey);
      clients.push(viaA, viaB);
      sessions.push({ user, viaA, viaB });
    }

    let next = 0;
    let crossUser = 0;
    const failures: string[] = [];
    const worker = async (): Promise<void> => {
      for (let i = next++; i < CALLS; i = next++) {
        const s = sessions[i % USERS.length] as (typeof sessions)[number];
        const client = Math.floor(i / USERS.length) % 2 === 0 ? s.viaA : s.viaB;
        const rest = i % 2 === 0;
        const result = rest ? await client.callTool({ name: 'get_item', arguments: { id: `c${i}` } }) : await client.callTool({ name: 'notes_whoami', arguments: {} });
        if (result.isError) {
          failures.push(`${i}: ${textOf(result)}`);
          continue;
        }
        const owner = rest ? (JSON.parse(textOf(result)) as { id: string; owner: string }).owner : textOf(result);
        if (owner !== s.user) crossUser += 1;
        if (rest) assert.equal((JSON.parse(textOf(result)) as { id: string }).id, `c${i}`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    process.stdout.write(`# isolation: ${CALLS} calls, ${failures.length} errors, ${crossUser} cross-user results\n`);
    assert.deepEqual(failures, [], `\nA: ${a.stderr().slice(-2000)}\nB: ${b.stderr().slice(-2000)}`);
    assert.equal(crossUser, 0);
    // Each process kept an upstream MCP session per connection: one initialize per user and process at most.
    assert.ok(notes.initializations <= USERS.length * 2, `${notes.initializations} initializations`);
  });
});
