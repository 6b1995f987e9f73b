import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import type { AccessTokenSource } from '../../src/connections/access-tokens.js';
import { createCredentialSource } from '../../src/connections/credentials.js';
import { createCipher } from '../../src/crypto/cipher.js';
import type { ToolCallOutcome, UsageRecorder } from '../../src/usage/usage-recorder.js';
import { createLogger } from '../../src/log.js';
import type { Caller } from '../../src/auth/caller.js';
import { createFastDispatcher } from '../../src/mcp/fast-dispatch.js';
import { createMcpHandler } from '../../src/mcp/mcp-server.js';
import { createRemoteTools } from '../../src/mcp/remote-tools.js';
import { createInFlightLimiter } from '../../src/limits/in-flight.js';
import { parseProviders } from '../../src/providers/load.js';
import { createRegistry } from '../../src/providers/registry.js';
import { startMcpUpstream, type McpUpstream } from '../remote-mcp/support/mcp-upstream.js';

/**
 * The fast path must answer exactly as the SDK would. A server routes each request to one or
 * the other; the bodies must match byte for byte, and the fast path must decline what it does
 * not fully handle.
 */
describe('the /mcp fast path answers exactly like the SDK', () => {
  const api = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization }));
  });
  let server: http.Server;
  let url: string;
  const registry = createRegistry(
    parseProviders(
      {
        providers: [
          {
            id: 'acme', name: 'Acme', auth: 'oauth2', authorization_url: 'http://127.0.0.1:9/a', token_url: 'http://127.0.0.1:9/t',
            client_id: 'c', api_base_url: 'http://127.0.0.1:9/api',
            tools: [
              { name: 'whoami', description: 'Who', method: 'GET', path: '/me' },
              { name: 'echo', description: 'Echo', method: 'POST', path: '/echo', params: { message: { type: 'string', in: 'body', required: true } } },
            ],
          },
          // A remote MCP server (issue 12): its tools join the list per user, its calls are forwarded.
          { id: 'remote', name: 'Remote', auth: 'none', mcp_url: 'http://127.0.0.1:9/mcp', tool_prefix: 'r_' },
        ],
      },
      {},
    ),
  );
  let mcpUpstream: McpUpstream;
  const tokens: AccessTokenSource = { get: async () => 'upstream-token', refreshAfterRejection: async () => 'upstream-token', refreshes: { ok: 0, invalid_grant: 0, transient: 0, rejected: 0, error: 0, busy: 0 } };
  const counted: ToolCallOutcome[] = [];
  const usage: UsageRecorder = { record: (call) => void counted.push(call), flush: async () => undefined, start: () => undefined, stop: async () => undefined, lastWrittenAt: 0 };
  const credentials = createCredentialSource({ connections: { find: () => Promise.reject(new Error('unused')) }, cipher: createCipher(randomBytes(32)), tokens, publicUrl: 'http://127.0.0.1:9' });
  const base = { registry, credentials, usage, log: createLogger('silent'), publicUrl: 'http://127.0.0.1:9', limits: { apiTimeoutMs: 5_000, callTimeoutMs: 10_000 }, inFlight: createInFlightLimiter() };
  const deps = { ...base, remote: createRemoteTools(base) };
  const sdk = createMcpHandler(deps);
  const fast = createFastDispatcher(deps);
  const writer: Caller = { userId: 'u1', scopes: ['tools:read', 'tools:write'], keyPrefix: 'sk_x', ip: '127.0.0.1', userAgent: 'test' };
  const reader: Caller = { userId: 'u1', scopes: ['tools:read'], keyPrefix: 'sk_y', ip: '127.0.0.1', userAgent: 'test' };

  before(async () => {
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const apiBase = `http://127.0.0.1:${(api.address() as AddressInfo).port}/api`;
    for (const tool of registry.tools) Object.assign(tool.provider, { api_base_url: apiBase });
    mcpUpstream = await startMcpUpstream({ verify: () => 'anyone' });
    const remote = registry.provider('remote');
    if (remote?.mcp) Object.assign(remote, { mcp: { ...remote.mcp, url: mcpUpstream.url } });
    server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const message = JSON.parse(Buffer.concat(chunks).toString());
      const caller = req.headers['x-caller'] === 'reader' ? reader : writer;
      if (req.headers['x-path'] === 'fast') {
        const answer = fast.dispatch(message, caller, req.headers['mcp-protocol-version'] as string | undefined);
        if (!answer) {
          res.writeHead(599).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(await answer);
        return;
      }
      await sdk.handle(req, res, caller, message);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    api.closeAllConnections();
    await new Promise((r) => server.close(r));
    await new Promise((r) => api.close(r));
    await mcpUpstream.close();
  });

  async function post(path: 'fast' | 'sdk', message: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const res = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-path': path, ...headers },
      body: JSON.stringify(message),
    });
    return { status: res.status, body: await res.text() };
  }

  const handled: Array<[string, unknown, Record<string, string>?]> = [
    ['ping', { jsonrpc: '2.0', id: 1, method: 'ping' }],
    ['ping with a string id', { jsonrpc: '2.0', id: 'abc', method: 'ping', params: {} }],
    ['tools/list', { jsonrpc: '2.0', id: 2, method: 'tools/list' }],
    ['tools/list for a read-only key', { jsonrpc: '2.0', id: 3, method: 'tools/list', params: {} }, { 'x-caller': 'reader' }],
    ['tools/call', { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'whoami', arguments: {} } }],
    ['tools/call without arguments', { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'whoami' } }],
    ['tools/call with invalid arguments', { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'echo', arguments: { message: 7 } } }],
    ['tools/call with _meta', { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' }, _meta: { progressToken: 1 } } }],
    ['tools/call of a remote MCP tool', { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'r_whoami', arguments: {} } }],
    ['tools/call of a remote MCP tool with an error result', { jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'r_fail' } }],
    ['tools/call of a remote MCP tool the upstream does not have', { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'r_nope', arguments: {} } }],
    ['a supported protocol version header', { jsonrpc: '2.0', id: 8, method: 'ping' }, { 'mcp-protocol-version': '2025-06-18' }],
  ];
  for (const [name, message, headers] of handled) {
    it(`${name}: same status and body, and the same usage counted`, async () => {
      counted.length = 0;
      const viaSdk = await post('sdk', message, headers);
      const countedBySdk = counted.splice(0);
      const viaFast = await post('fast', message, headers);
      assert.equal(viaFast.status, 200);
      assert.deepEqual(viaFast, viaSdk);
      assert.deepEqual(counted, countedBySdk);
    });
  }

  it('lists the remote MCP tools on both paths (read-only ones for a read-only key)', async () => {
    const names = (body: string) => (JSON.parse(body) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name);
    assert.deepEqual(names((await post('fast', { jsonrpc: '2.0', id: 1, method: 'tools/list' })).body), ['whoami', 'echo', 'r_whoami', 'r_write_note', 'r_fail']);
    assert.deepEqual(names((await post('fast', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'x-caller': 'reader' })).body), ['whoami', 'r_whoami']);
  });

  const declined: Array<[string, unknown, Record<string, string>?]> = [
    ['initialize', { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }],
    ['a notification', { jsonrpc: '2.0', method: 'notifications/initialized' }],
    ['a batch', [{ jsonrpc: '2.0', id: 1, method: 'ping' }]],
    ['an unknown tool', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'nope' } }],
    ['a write tool for a read-only key', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } }, { 'x-caller': 'reader' }],
    ['a non-integer id', { jsonrpc: '2.0', id: 1.5, method: 'ping' }],
    ['an extra top-level field', { jsonrpc: '2.0', id: 1, method: 'ping', extra: true }],
    ['arguments that are not an object', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: [] } }],
    ['an unsupported protocol version', { jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-protocol-version': '1999-01-01' }],
    ['jsonrpc 1.0', { jsonrpc: '1.0', id: 1, method: 'ping' }],
  ];
  for (const [name, message, headers] of declined) {
    it(`declines ${name} (the SDK answers it)`, async () => {
      assert.equal((await post('fast', message, headers)).status, 599);
    });
  }
});
